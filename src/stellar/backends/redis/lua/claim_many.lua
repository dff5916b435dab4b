-- claim_many: claim.lua for several workers at once, in order, atomically: each worker
-- pops the head job of the first non-empty of its queues and gets its working-on record.
--
-- KEYS[1]     N:stellar:working         SET (ids of workers with a record we wrote)
-- then, for each worker w in order:
--   N:worker:<name>:<queues>            STRING (its working-on record)
--   N:queue:<q>, one per queue          LIST, in the worker's priority order
-- ARGV[1]     number of workers
-- then, for each worker w in order:
--   worker id "<name>:<queues>"
--   k, the number of its queues
--   k working-on prefixes, one per queue (the record is prefix .. payload .. '}',
--   codec.working_on_prefix, so the job text is stored verbatim)
-- Returns {i1, payload1, i2, payload2, ...}: for each worker, the index of the queue it
-- took a job from (1-based) and the job, or 0 and '' when all its queues were empty.

local reply = {}
local key, arg = 2, 2
for _ = 1, tonumber(ARGV[1]) do
  local record, id, k = KEYS[key], ARGV[arg], tonumber(ARGV[arg + 1])
  local taken, payload = 0, ''
  for i = 1, k do
    local job = redis.call('LPOP', KEYS[key + i])
    if job then
      redis.call('SET', record, ARGV[arg + 1 + i] .. job .. '}')
      redis.call('SADD', KEYS[1], id)
      taken, payload = i, job
      break
    end
  end
  reply[#reply + 1] = taken
  reply[#reply + 1] = payload
  key = key + 1 + k
  arg = arg + 2 + k
end
return reply
