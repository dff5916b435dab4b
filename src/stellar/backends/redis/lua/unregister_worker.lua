-- unregister_worker: remove a worker and everything it owns.
--
-- KEYS[1]  N:workers                          SET
-- KEYS[2]  N:worker:<name>:<queues>           STRING (working-on record)
-- KEYS[3]  N:worker:<name>:<queues>:started   STRING
-- KEYS[4]  N:worker:ping:<name>               STRING
-- KEYS[5]  N:stat:processed:<name>            STRING
-- KEYS[6]  N:stat:failed:<name>               STRING
-- KEYS[7]  N:stellar:working                  SET
-- ARGV[1]  worker id "<name>:<queues>"

redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[7], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return 1
