-- push_delayed: file a job under a delayed timestamp unless it is already filed there.
--
-- KEYS[1]  N:timestamps:<payload>       SET
-- KEYS[2]  N:delayed:<ts>               LIST
-- KEYS[3]  N:delayed_queue_schedule     ZSET
-- KEYS[4]  N:stellar:delayed_precise    ZSET
-- ARGV[1]  ts (whole seconds, decimal)
-- ARGV[2]  "delayed:<ts>" (member of the timestamps set)
-- ARGV[3]  payload (exact job JSON)
-- ARGV[4]  precise time, or '' when it is the whole second ts
-- ARGV[5]  "<ts>|<payload>" (member of the precise zset)
-- Returns 1 when filed, 0 when the same payload was already filed under ts.
--@include _delayed.lua

if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 1 then
  return 0
end
file_delayed(KEYS[2], KEYS[1], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return 1
