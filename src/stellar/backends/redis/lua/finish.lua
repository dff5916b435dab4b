-- finish: settle a worker's current job (success, failure, or discarded unrun), drop its
-- working-on record and optionally ensure the next delayed copy of a periodic job, at once.
--
-- KEYS[1]   N:worker:<name>:<queues>     STRING (working-on record)
-- KEYS[2]   N:stat:processed             STRING
-- KEYS[3]   N:stat:processed:<name>      STRING
-- KEYS[4]   N:stat:failed                STRING
-- KEYS[5]   N:stat:failed:<name>         STRING
-- KEYS[6]   N:failed                     LIST
-- KEYS[7]   N:stellar:working            SET
-- KEYS[8..] an ensure block (see _ensure.lua), only when ARGV[4] == '1'
-- ARGV[1]   'ok', 'fail', or 'discard' (a plugin vetoed the job: count nothing)
-- ARGV[2]   failure record (JSON) when 'fail', else ''
-- ARGV[3]   worker id "<name>:<queues>"
-- ARGV[4]   '1' to ensure the delayed copy described by the ensure block
-- ARGV[5..] the ensure block's arguments
-- The worker's own record is dropped before the ensure check, so the job being finished
-- does not count as a running copy.
-- Returns 1 when settled (with an ensure block: 1 seeded, 0 refused), or -1 when the
-- worker sets changed since the caller read them (nothing written: read again and retry).
--@include _delayed.lua
--@include _ensure.lua

local reschedule = ARGV[4] == '1'
if reschedule and not workers_unchanged(8, 5) then
  return -1
end
if ARGV[1] == 'fail' then
  redis.call('RPUSH', KEYS[6], ARGV[2])
  redis.call('INCR', KEYS[4])
  redis.call('INCR', KEYS[5])
elseif ARGV[1] == 'ok' then
  redis.call('INCR', KEYS[2])
  redis.call('INCR', KEYS[3])
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[7], ARGV[3])
if reschedule then
  return ensure_delayed(8, 5)
end
return 1
