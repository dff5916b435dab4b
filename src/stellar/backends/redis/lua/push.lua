-- push: register a queue and append jobs to its tail, in order.
--
-- KEYS[1]  N:queues                     SET
-- KEYS[2]  N:queue:<queue>              LIST
-- KEYS[3]  N:stellar:notify:queued      LIST (signal, _notify.lua; optional)
-- KEYS[4]  N:stellar:waiting:queued     ZSET (its waiters; optional)
-- ARGV[1]  queue name
-- ARGV[2..] payloads
-- Returns the number of jobs appended.
--@include _notify.lua

redis.call('SADD', KEYS[1], ARGV[1])
local last = #ARGV
local first = 2
while first <= last do
  local upto = math.min(first + 999, last)
  redis.call('RPUSH', KEYS[2], unpack(ARGV, first, upto))
  first = upto + 1
end
notify(KEYS[3], KEYS[4], ARGV[1])
return last - 1
