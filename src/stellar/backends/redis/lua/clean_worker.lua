-- clean_worker: unregister a dead worker if its working-on record is still the one the
-- caller saw; fail or requeue its job.
--
-- KEYS[1]   N:workers                          SET
-- KEYS[2]   N:worker:<name>:<queues>           STRING (working-on record)
-- KEYS[3]   N:worker:<name>:<queues>:started   STRING
-- KEYS[4]   N:worker:ping:<name>               STRING
-- KEYS[5]   N:stat:processed:<name>            STRING
-- KEYS[6]   N:stat:failed:<name>               STRING
-- KEYS[7]   N:stat:failed                      STRING
-- KEYS[8]   N:failed                           LIST
-- KEYS[9]   N:stellar:working                  SET
-- KEYS[10]  N:queue:<queue>                    LIST (only when ARGV[6] == '1')
-- KEYS[11]  N:queues                           SET  (only when ARGV[6] == '1')
-- ARGV[1]   worker id "<name>:<queues>"
-- ARGV[2]   '1' when a record is expected, '0' when the worker must be idle
-- ARGV[3]   the expected record (or '')
-- ARGV[4]   '1' to append the failure record ARGV[5] and count a failure
-- ARGV[5]   failure record (or '')
-- ARGV[6]   '1' to append the payload ARGV[8] to the tail of queue ARGV[7]
-- ARGV[7]   queue name (or '')
-- ARGV[8]   payload (or '')
-- Returns 1 when cleaned, 0 when the record is not the one expected (nothing written).

local current = redis.call('GET', KEYS[2])
if ARGV[2] == '1' then
  if current ~= ARGV[3] then
    return 0
  end
elseif current then
  return 0
end
if ARGV[4] == '1' then
  redis.call('RPUSH', KEYS[8], ARGV[5])
  redis.call('INCR', KEYS[7])
end
if ARGV[6] == '1' then
  redis.call('RPUSH', KEYS[10], ARGV[8])
  redis.call('SADD', KEYS[11], ARGV[7])
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[9], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return 1
