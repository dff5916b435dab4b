-- register_worker: add a worker to the workers set with its start time and first ping.
--
-- KEYS[1]  N:workers                          SET
-- KEYS[2]  N:worker:<name>:<queues>:started   STRING
-- KEYS[3]  N:worker:ping:<name>               STRING
-- ARGV[1]  worker id "<name>:<queues>"
-- ARGV[2]  start time, whole unix seconds
-- ARGV[3]  ping JSON (codec.encode_ping)

redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
return 1
