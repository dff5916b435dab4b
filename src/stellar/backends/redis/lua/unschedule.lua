-- unschedule: remove every copy of some jobs from one delayed timestamp.
--
-- KEYS[1]      N:delayed:<ts>              LIST
-- KEYS[2]      N:delayed_queue_schedule    ZSET
-- KEYS[3]      N:stellar:delayed_precise   ZSET
-- KEYS[3+i]    N:timestamps:<payload i>    SET
-- ARGV[1]      ts as in the schedule
-- ARGV[2]      "delayed:<ts>"
-- ARGV[1+2i]   payload i
-- ARGV[2+2i]   "<ts>|<payload i>"
-- With no payloads it only tidies: an empty timestamp leaves the schedule.
-- Returns the number of jobs removed.

local removed = 0
for i = 1, #KEYS - 3 do
  removed = removed + redis.call('LREM', KEYS[1], 0, ARGV[1 + 2 * i])
  redis.call('SREM', KEYS[3 + i], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2 + 2 * i])
end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return removed
