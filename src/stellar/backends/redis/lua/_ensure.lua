-- Fragment (not a script): included by ensure_delayed.lua and finish.lua; needs
-- _delayed.lua included before it.
--
-- The ensure block is a run of KEYS starting at index kb and of ARGV starting at ab:
--   KEYS[kb]      N:stellar:recurrent:stopped  SET
--   KEYS[kb+1]    N:queue:<queue>              LIST
--   KEYS[kb+2]    N:timestamps:<payload>       SET
--   KEYS[kb+3]    N:delayed:<ts>               LIST
--   KEYS[kb+4]    N:delayed_queue_schedule     ZSET
--   KEYS[kb+5]    N:stellar:delayed_precise    ZSET
--   KEYS[kb+6]    N:workers                    SET
--   KEYS[kb+7]    N:stellar:working            SET
--   KEYS[kb+7+i]  N:worker:<id> for i = 1..m: the working-on records of every id below
--   ARGV[ab]      task name
--   ARGV[ab+1]    payload
--   ARGV[ab+2]    ts
--   ARGV[ab+3]    "delayed:<ts>"
--   ARGV[ab+4]    precise time or ''
--   ARGV[ab+5]    "<ts>|<payload>"
--   ARGV[ab+6]    n1, the number of worker ids the caller read from N:workers
--   ARGV[ab+7]    n2, the number of worker ids the caller read from N:stellar:working
--   ARGV[ab+8]    m, the number of working-on keys (the union of both id lists)
--   ARGV[ab+8+i]  the n1 ids of N:workers, then the n2 ids of N:stellar:working

-- True when `set` holds exactly the n ids of ARGV[first + 1 .. first + n].
local function holds_exactly(set, n, first)
  if redis.call('SCARD', set) ~= n then
    return false
  end
  for i = first + 1, first + n do
    if redis.call('SISMEMBER', set, ARGV[i]) == 0 then
      return false
    end
  end
  return true
end

-- True when neither N:workers nor N:stellar:working changed since the caller read them,
-- so that KEYS[kb+8..] are the working-on records of every worker there is.
local function workers_unchanged(kb, ab)
  local n1 = tonumber(ARGV[ab + 6])
  local n2 = tonumber(ARGV[ab + 7])
  return holds_exactly(KEYS[kb + 6], n1, ab + 8)
    and holds_exactly(KEYS[kb + 7], n2, ab + 8 + n1)
end

-- True when the working-on record is a job of `task` (decoded with cjson; a record
-- cjson cannot read is taken as someone else's job).
local function works_on(record, task)
  local ok, decoded = pcall(cjson.decode, record)
  if not ok or type(decoded) ~= 'table' or type(decoded['payload']) ~= 'table' then
    return false
  end
  return decoded['payload']['class'] == task
end

-- Seeds the job unless a copy exists anywhere; 1 when seeded, 0 when refused.
-- The caller has checked workers_unchanged first.
local function ensure_delayed(kb, ab)
  local task = ARGV[ab]
  local payload = ARGV[ab + 1]
  if redis.call('SISMEMBER', KEYS[kb], task) == 1 then
    return 0
  end
  if redis.call('LPOS', KEYS[kb + 1], payload) then
    return 0
  end
  if redis.call('SCARD', KEYS[kb + 2]) > 0 then
    return 0
  end
  local m = tonumber(ARGV[ab + 8])
  for i = 1, m do
    local record = redis.call('GET', KEYS[kb + 7 + i])
    if record and works_on(record, task) then
      return 0
    end
  end
  file_delayed(KEYS[kb + 3], KEYS[kb + 2], KEYS[kb + 4], KEYS[kb + 5],
    ARGV[ab + 2], ARGV[ab + 3], payload, ARGV[ab + 4], ARGV[ab + 5])
  return 1
end
