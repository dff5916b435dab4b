-- Fragment (not a script): included by the scripts that make a job ready or file a
-- delayed job, so that waiting processes wake up (RedisBackend.wait_for).
--
-- notify(key, waiting, value)
--   Leaves one token, `value` (the queue that got a job, or ''), in the signal list
--   `key` (N:stellar:notify:<signal>) when some
--   process waits for that signal (the zset `waiting`, N:stellar:waiting:<signal>, is not
--   empty) and no token is there yet: a process blocked in BLPOP on it wakes up at once,
--   otherwise the token is kept for the next BLPOP. The list never holds more than one
--   token, and nothing is written while nobody waits. Both keys are optional in every
--   script's KEYS: without them (nil) nobody is signalled.
local function notify(key, waiting, value)
  if key and waiting and redis.call('EXISTS', waiting) == 1
      and redis.call('LLEN', key) == 0 then
    redis.call('RPUSH', key, value)
  end
end
