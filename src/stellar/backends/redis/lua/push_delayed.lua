-- push_delayed: file a job under a delayed timestamp unless it is already filed there.
--
-- KEYS[1]  N:timestamps:<payload>       SET
-- KEYS[2]  N:delayed:<ts>               LIST
-- KEYS[3]  N:delayed_queue_schedule     ZSET
-- KEYS[4]  N:stellar:delayed_precise    ZSET
-- KEYS[5]  N:stellar:notify:delayed     LIST (signal, _notify.lua; optional)
-- KEYS[6]  N:stellar:waiting:delayed    ZSET (its waiters; optional)
-- ARGV[1]  ts (whole seconds, decimal)
-- ARGV[2]  "delayed:<ts>" (member of the timestamps set)
-- ARGV[3]  payload (exact job JSON)
-- ARGV[4]  precise time, or '' when it is the whole second ts
-- ARGV[5]  "<ts>|<payload>" (member of the precise zset)
-- Returns 1 when filed, 0 when the same payload was already filed under ts.
-- The signal is given when the job is due before every job filed until then (a
-- scheduler asleep until the earliest of those must wake up sooner).
--@include _delayed.lua
--@include _notify.lua

if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 1 then
  return 0
end
-- a waiting scheduler is woken only for a job due before every job filed until then
local waited = KEYS[6] ~= nil and redis.call('EXISTS', KEYS[6]) == 1
local due, earliest = tonumber(ARGV[4] ~= '' and ARGV[4] or ARGV[1]), nil
if waited then
  for _, zset in ipairs({KEYS[3], KEYS[4]}) do
    local first = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')
    if first[2] and (earliest == nil or tonumber(first[2]) < earliest) then
      earliest = tonumber(first[2])
    end
  end
end
file_delayed(KEYS[2], KEYS[1], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if waited and (earliest == nil or due < earliest) then
  redis.call('DEL', KEYS[5])  -- a token left for a later job gives way to this one
  notify(KEYS[5], KEYS[6], '')
end
return 1
