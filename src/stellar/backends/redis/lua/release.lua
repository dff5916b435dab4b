-- release: put a worker's job back at the head of its queue, if the worker still works
-- on it (compare-and-swap on the working-on record).
--
-- KEYS[1]  N:worker:<name>:<queues>     STRING (working-on record)
-- KEYS[2]  N:queue:<queue>              LIST
-- KEYS[3]  N:queues                     SET
-- KEYS[4]  N:stellar:working            SET
-- KEYS[5]  N:stellar:notify:queued      LIST (signal, _notify.lua; optional)
-- KEYS[6]  N:stellar:waiting:queued     ZSET (its waiters; optional)
-- ARGV[1]  the working-on record expected
-- ARGV[2]  payload
-- ARGV[3]  queue name
-- ARGV[4]  worker id "<name>:<queues>"
-- Returns 1 when released, 0 when the record was not the one expected (nothing changed).
--@include _notify.lua

if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[4], ARGV[4])
notify(KEYS[5], KEYS[6], ARGV[3])
return 1
