-- promote: move due jobs of one delayed timestamp to the tail of their queues.
--
-- The caller read the timestamp's jobs just before and decoded each job's queue (the
-- destination keys cannot be known before reading). Every item is checked again here:
-- one that is no longer filed under the timestamp is skipped (another scheduler or a
-- delete took it), one that is not due yet stays. Nothing is lost or moved twice.
--
-- KEYS[1]        N:delayed:<ts>              LIST
-- KEYS[2]        N:delayed_queue_schedule    ZSET
-- KEYS[3]        N:stellar:delayed_precise   ZSET
-- KEYS[4]        N:queues                    SET
-- KEYS[3+2i]     N:queue:<queue of item i>   LIST
-- KEYS[4+2i]     N:timestamps:<payload i>    SET
-- KEYS[5+2n]     N:stellar:notify:queued     LIST (signal, _notify.lua; optional), and
-- KEYS[6+2n]     N:stellar:waiting:queued    ZSET (its waiters), after the n items' keys
-- ARGV[1]        ts, the schedule member
-- ARGV[2]        "delayed:<ts>" (member of the timestamps sets)
-- ARGV[3]        now (unix seconds, may have a fraction)
-- ARGV[4]        when the timestamp is due: its schedule score (whole seconds)
-- ARGV[2+3i]     payload of item i
-- ARGV[3+3i]     queue name of item i
-- ARGV[4+3i]     "<ts>|<payload i>" (member of the precise zset)
-- A job is due when its precise time (if it has one, and never later than the timestamp)
-- or else the timestamp is <= now. The schedule entry goes when the list is empty.
-- The list is read once and, when jobs moved, written back without them (each move drops
-- the first copy of its payload, as LREM would): one pass, not one scan per job.
-- Returns the number of jobs moved.
--@include _notify.lua

local delayed, schedule, precise, queues = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[3])
local ts_due = tonumber(ARGV[4])
local items = redis.call('LRANGE', delayed, 0, -1)
local filed, taken = {}, {}  -- payload -> copies filed here / copies moved out
for _, payload in ipairs(items) do
  filed[payload] = (filed[payload] or 0) + 1
end
local moved, first_queue = 0, nil
for i = 1, (#ARGV - 4) / 3 do
  local payload, queue, pmember = ARGV[2 + 3 * i], ARGV[3 + 3 * i], ARGV[4 + 3 * i]
  local timestamps = KEYS[4 + 2 * i]
  if (filed[payload] or 0) == 0 then
    -- gone: drop what still points at it here
    redis.call('ZREM', precise, pmember)
    redis.call('SREM', timestamps, ARGV[2])
  else
    local due_at = ts_due
    local score = redis.call('ZSCORE', precise, pmember)
    if score and tonumber(score) < due_at then
      due_at = tonumber(score)
    end
    if due_at <= now then
      filed[payload] = filed[payload] - 1
      taken[payload] = (taken[payload] or 0) + 1
      redis.call('SADD', queues, queue)
      redis.call('RPUSH', KEYS[3 + 2 * i], payload)
      moved = moved + 1
      first_queue = first_queue or queue
      if filed[payload] == 0 then
        redis.call('ZREM', precise, pmember)
        redis.call('SREM', timestamps, ARGV[2])
      end
    end
  end
end
if moved > 0 then
  local kept = {}
  for _, payload in ipairs(items) do
    if (taken[payload] or 0) > 0 then
      taken[payload] = taken[payload] - 1
    else
      kept[#kept + 1] = payload
    end
  end
  redis.call('DEL', delayed)
  for first = 1, #kept, 1000 do
    redis.call('RPUSH', delayed, unpack(kept, first, math.min(first + 999, #kept)))
  end
end
if redis.call('LLEN', delayed) == 0 then
  redis.call('ZREM', schedule, ARGV[1])
end
local n = (#ARGV - 4) / 3
if moved > 0 and #KEYS == 6 + 2 * n then
  notify(KEYS[#KEYS - 1], KEYS[#KEYS], first_queue)
end
return moved
