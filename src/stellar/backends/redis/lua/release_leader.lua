-- release_leader: drop the scheduler leader lock if we hold it (compare-and-delete).
--
-- KEYS[1]  N:resque_scheduler_leader_lock  STRING
-- ARGV[1]  our name
-- Returns 1 when released, 0 when someone else (or no one) held it.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
