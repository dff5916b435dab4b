-- ensure_delayed: seed one delayed copy of a periodic job unless one exists already.
--
-- KEYS and ARGV are one ensure block (see _ensure.lua) starting at index 1:
-- KEYS[1] N:stellar:recurrent:stopped, KEYS[2] N:queue:<queue>, KEYS[3] N:timestamps:<payload>,
-- KEYS[4] N:delayed:<ts>, KEYS[5] N:delayed_queue_schedule, KEYS[6] N:stellar:delayed_precise,
-- KEYS[7] N:workers, KEYS[8] N:stellar:working, KEYS[9..] working-on records;
-- ARGV[1] task, ARGV[2] payload, ARGV[3] ts, ARGV[4] "delayed:<ts>", ARGV[5] precise time
-- or '', ARGV[6] "<ts>|<payload>", ARGV[7] n1, ARGV[8] n2, ARGV[9] m, ARGV[10..] worker ids.
-- Returns 1 when seeded, 0 when refused (stopped, queued, delayed, or being worked on),
-- -1 when the worker sets changed since the caller read them (nothing written: read them
-- again and retry).
--@include _delayed.lua
--@include _ensure.lua

if not workers_unchanged(1, 1) then
  return -1
end
return ensure_delayed(1, 1)
