-- delete_queue: drop a queue and its jobs.
--
-- KEYS[1]  N:queue:<queue>              LIST
-- KEYS[2]  N:queues                     SET
-- ARGV[1]  queue name
-- Returns the number of jobs removed.

local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return n
