-- retry_failed: take one record out of the failed list and append its job to a queue.
--
-- KEYS[1]  N:failed                     LIST
-- KEYS[2]  N:queues                     SET
-- KEYS[3]  N:queue:<queue>              LIST
-- KEYS[4]  N:stellar:notify:queued      LIST (signal, _notify.lua; optional)
-- KEYS[5]  N:stellar:waiting:queued     ZSET (its waiters; optional)
-- ARGV[1]  the failed record (exact text)
-- ARGV[2]  queue name
-- ARGV[3]  payload
-- Returns 1 when retried, 0 when the record is not in the list (nothing changed).
--@include _notify.lua

if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
  return 0
end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[3])
notify(KEYS[4], KEYS[5], ARGV[2])
return 1
