-- claim: pop the head job of the first non-empty queue and record it as the worker's
-- working-on record, atomically.
--
-- KEYS[1]     N:worker:<name>:<queues>  STRING (working-on record)
-- KEYS[2]     N:stellar:working         SET (ids of workers with a record we wrote)
-- KEYS[3..]   N:queue:<q>               LIST, in the worker's priority order
-- ARGV[1]     worker id "<name>:<queues>"
-- ARGV[i+1]   working-on prefix for the queue of KEYS[i + 2]; the record is exactly
--             prefix .. payload .. '}' (codec.working_on_prefix), so the job text is
--             stored verbatim.
-- Returns {i, payload} for the i-th queue, or nil when every queue is empty.

for i = 3, #KEYS do
  local payload = redis.call('LPOP', KEYS[i])
  if payload then
    redis.call('SET', KEYS[1], ARGV[i - 1] .. payload .. '}')
    redis.call('SADD', KEYS[2], ARGV[1])
    return {i - 2, payload}
  end
end
return false
