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
-- ARGV[5]        '' or a guard: the due time of the earliest item, when the caller read
--                the items ahead of time; if a job is due before it (filed since, by
--                another client) nothing moves, so that the caller reads and jobs still
--                go in the order they fall due
-- ARGV[3+3i]     payload of item i
-- ARGV[4+3i]     queue name of item i
-- ARGV[5+3i]     "<ts>|<payload i>" (member of the precise zset)
-- A job is due when its precise time (if it has one, and never later than the timestamp)
-- or else the timestamp is <= now. The schedule entry goes when the list is empty.
-- Each move drops the first copy of its payload from the list (LREM 1: the due jobs are
-- near its head, so this stops early) instead of reading and rewriting the whole list,
-- which a burst of jobs due within one second would pay for every few jobs.
-- Returns {moved, next}: the number of jobs moved, and the earliest due time left (the
-- first score of the precise index or of the schedule, as a string; '' when none), which
-- tells the caller when to look again and whether something it did not read is due.
--@include _notify.lua

local delayed, schedule, precise, queues = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[3])
local ts_due = tonumber(ARGV[4])

-- the earliest due time of all delayed jobs, as a string ('' when none)
local function earliest()
  local best = ''
  local first = redis.call('ZRANGE', precise, 0, 0, 'WITHSCORES')
  if first[2] then best = first[2] end
  first = redis.call('ZRANGE', schedule, 0, 0, 'WITHSCORES')
  if first[2] and (best == '' or tonumber(first[2]) < tonumber(best)) then
    best = first[2]
  end
  return best
end

if ARGV[5] ~= '' then
  local first = earliest()
  if first ~= '' and tonumber(first) < tonumber(ARGV[5]) then
    return {0, first}
  end
end
local moved, first_queue = 0, nil
local n = (#ARGV - 5) / 3
for i = 1, n do
  local payload, queue, pmember = ARGV[3 + 3 * i], ARGV[4 + 3 * i], ARGV[5 + 3 * i]
  local timestamps = KEYS[4 + 2 * i]
  local due_at = ts_due
  local score = redis.call('ZSCORE', precise, pmember)
  if score and tonumber(score) < due_at then
    due_at = tonumber(score)
  end
  if due_at <= now then
    local filed = redis.call('LREM', delayed, 1, payload) == 1
    if filed then
      redis.call('SADD', queues, queue)
      redis.call('RPUSH', KEYS[3 + 2 * i], payload)
      moved = moved + 1
      first_queue = first_queue or queue
    end
    -- gone (another scheduler or a delete took it), or its last copy here moved: drop
    -- what still points at it from this timestamp
    if not filed or not redis.call('LPOS', delayed, payload) then
      redis.call('ZREM', precise, pmember)
      redis.call('SREM', timestamps, ARGV[2])
    end
  end
end
if redis.call('LLEN', delayed) == 0 then
  redis.call('ZREM', schedule, ARGV[1])
end
if moved > 0 and #KEYS == 6 + 2 * n then
  notify(KEYS[#KEYS - 1], KEYS[#KEYS], first_queue)
end
return {moved, earliest()}
