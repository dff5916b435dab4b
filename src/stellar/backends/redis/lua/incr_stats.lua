-- incr_stats: add deltas to counters.
--
-- KEYS[i]  N:stat:<name i>              STRING (integer)
-- ARGV[i]  the delta for KEYS[i]

for i = 1, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[i])
end
return #KEYS
