-- finish_many: finish.lua (without an ensure block) for several workers at once: settle
-- each worker's current job and drop its working-on record, atomically.
--
-- KEYS[1]        N:stat:processed             STRING
-- KEYS[2]        N:stat:failed                STRING
-- KEYS[3]        N:failed                     LIST
-- KEYS[4]        N:stellar:working            SET
-- KEYS[2+3i]     N:worker:<name>:<queues>     STRING (working-on record of worker i)
-- KEYS[3+3i]     N:stat:processed:<name>      STRING
-- KEYS[4+3i]     N:stat:failed:<name>         STRING
-- ARGV[3i-2]     'ok', 'fail', or 'discard' (a plugin vetoed the job: count nothing)
-- ARGV[3i-1]     failure record (JSON) when 'fail', else ''
-- ARGV[3i]       worker id "<name>:<queues>"
-- Returns the number of jobs settled.

local done, failed = 0, 0
local n = #ARGV / 3
for i = 1, n do
  local mode = ARGV[3 * i - 2]
  if mode == 'fail' then
    redis.call('RPUSH', KEYS[3], ARGV[3 * i - 1])
    redis.call('INCR', KEYS[4 + 3 * i])
    failed = failed + 1
  elseif mode == 'ok' then
    redis.call('INCR', KEYS[3 + 3 * i])
    done = done + 1
  end
  redis.call('DEL', KEYS[2 + 3 * i])
  redis.call('SREM', KEYS[4], ARGV[3 * i])
end
if done > 0 then
  redis.call('INCRBY', KEYS[1], done)
end
if failed > 0 then
  redis.call('INCRBY', KEYS[2], failed)
end
return n
