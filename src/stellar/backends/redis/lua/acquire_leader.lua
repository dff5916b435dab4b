-- acquire_leader: take the scheduler leader lock, or renew it when already ours.
--
-- KEYS[1]  N:resque_scheduler_leader_lock  STRING
-- ARGV[1]  our name
-- ARGV[2]  time to live, milliseconds
-- Returns 1 when we lead, 0 when someone else does.

if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
