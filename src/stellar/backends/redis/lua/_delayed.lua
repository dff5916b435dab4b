-- Fragment (not a script): included by push_delayed.lua and _ensure.lua.
--
-- file_delayed(delayed, timestamps, schedule, precise, ts, member, payload, at, pmember)
--   Files `payload` under the whole-second timestamp `ts` the way node-resque does
--   (RPUSH delayed:<ts>, SADD timestamps:<payload> "delayed:<ts>", ZADD schedule ts ts)
--   and keeps the precise time `at` in our zset; `at` == '' means the time is the whole
--   second `ts`, so any precise entry left for that member is dropped instead.
--   All four keys arrive through KEYS; `member` is "delayed:<ts>" and `pmember` is
--   "<ts>|<payload>", both built by ResqueKeys.
local function file_delayed(delayed, timestamps, schedule, precise, ts, member, payload, at, pmember)
  redis.call('RPUSH', delayed, payload)
  redis.call('SADD', timestamps, member)
  redis.call('ZADD', schedule, ts, ts)
  if at == '' then
    redis.call('ZREM', precise, pmember)
  else
    redis.call('ZADD', precise, at, pmember)
  end
end
