-- Stellar tasks: every statement the SQLite backend runs, one named block each.
-- A block starts with "-- name: <name>" and runs to the next one. The backend parses
-- this file once at import; sqlite3's statement cache then reuses each prepared
-- statement, since the text of a name never changes. The first parameter is always
-- the namespace.

-- ------------------------------------------------------------------ queues

-- name: queue_register
INSERT INTO queues (ns, name) VALUES (?, ?) ON CONFLICT DO NOTHING;

-- name: queue_names
SELECT name FROM queues WHERE ns = ? ORDER BY name;

-- name: queue_unregister
DELETE FROM queues WHERE ns = ? AND name = ?;

-- name: queue_length
SELECT count(*) FROM jobs WHERE ns = ? AND queue = ?;

-- name: queue_any
SELECT 1 FROM jobs WHERE ns = ? AND queue = ? LIMIT 1;

-- name: queue_range
SELECT payload FROM jobs WHERE ns = ? AND queue = ? ORDER BY position LIMIT ? OFFSET ?;

-- name: queue_range_desc
SELECT payload FROM jobs WHERE ns = ? AND queue = ? ORDER BY position DESC LIMIT ? OFFSET ?;

-- name: queue_clear
DELETE FROM jobs WHERE ns = ? AND queue = ?;

-- name: job_append
INSERT INTO jobs (ns, queue, digest, payload) VALUES (?, ?, ?, ?);

-- name: job_prepend
INSERT INTO jobs (position, ns, queue, digest, payload)
VALUES ((SELECT coalesce(min(position), 1) - 1 FROM jobs), ?, ?, ?, ?);

-- name: job_pop
DELETE FROM jobs
WHERE position = (SELECT position FROM jobs WHERE ns = ? AND queue = ? ORDER BY position LIMIT 1)
RETURNING payload;

-- name: job_remove_first
DELETE FROM jobs WHERE position IN (
    SELECT position FROM jobs
    WHERE ns = ? AND queue = ? AND digest = ? AND payload = ?
    ORDER BY position ASC LIMIT ?
);

-- name: job_remove_last
DELETE FROM jobs WHERE position IN (
    SELECT position FROM jobs
    WHERE ns = ? AND queue = ? AND digest = ? AND payload = ?
    ORDER BY position DESC LIMIT ?
);

-- name: job_exists
SELECT 1 FROM jobs WHERE ns = ? AND queue = ? AND digest = ? AND payload = ? LIMIT 1;

-- ----------------------------------------------------------------- delayed

-- name: delayed_exists_at
SELECT 1 FROM delayed WHERE ns = ? AND digest = ? AND ts = ? AND payload = ? LIMIT 1;

-- name: delayed_exists
SELECT 1 FROM delayed WHERE ns = ? AND digest = ? AND payload = ? LIMIT 1;

-- name: delayed_insert
INSERT INTO delayed (ns, ts, at, queue, digest, payload) VALUES (?, ?, ?, ?, ?, ?);

-- name: delayed_timestamps
SELECT DISTINCT ts FROM delayed WHERE ns = ? ORDER BY ts;

-- name: delayed_at
SELECT payload FROM delayed WHERE ns = ? AND ts = ? ORDER BY id;

-- name: delayed_count
SELECT count(*) FROM delayed WHERE ns = ?;

-- name: delayed_scheduled
SELECT ts FROM delayed WHERE ns = ? AND digest = ? AND payload = ? ORDER BY ts;

-- name: delayed_remove_payload
DELETE FROM delayed WHERE ns = ? AND digest = ? AND payload = ? RETURNING ts;

-- name: delayed_remove_at
DELETE FROM delayed WHERE ns = ? AND ts = ?;

-- name: delayed_remove_all
DELETE FROM delayed WHERE ns = ?;

-- name: delayed_next
SELECT min(at) FROM delayed WHERE ns = ?;

-- name: delayed_due
SELECT id, queue, digest, payload FROM delayed
WHERE ns = ? AND at <= ? ORDER BY at, id LIMIT ?;

-- name: delayed_delete_id
DELETE FROM delayed WHERE id = ?;

-- ----------------------------------------------------------------- workers

-- name: worker_register
INSERT INTO workers (ns, name, queues, started) VALUES (?, ?, ?, ?)
ON CONFLICT (ns, name, queues) DO UPDATE SET started = excluded.started;

-- name: worker_unregister
DELETE FROM workers WHERE ns = ? AND name = ? AND queues = ?;

-- name: worker_list
SELECT name, queues FROM workers WHERE ns = ? ORDER BY name, queues;

-- name: worker_records
SELECT w.name, w.queues, w.started, p.time, k.record
FROM workers AS w
LEFT JOIN pings AS p ON p.ns = w.ns AND p.name = w.name
LEFT JOIN working AS k ON k.ns = w.ns AND k.name = w.name AND k.queues = w.queues
WHERE w.ns = ?
ORDER BY w.name, w.queues;

-- name: ping_set
INSERT INTO pings (ns, name, time) VALUES (?, ?, ?)
ON CONFLICT (ns, name) DO UPDATE SET time = excluded.time;

-- name: ping_delete
DELETE FROM pings WHERE ns = ? AND name = ?;

-- name: working_set
INSERT INTO working (ns, name, queues, record, queue, payload, task) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (ns, name, queues) DO UPDATE SET
    record = excluded.record, queue = excluded.queue,
    payload = excluded.payload, task = excluded.task;

-- name: working_get
SELECT record, queue, payload FROM working WHERE ns = ? AND name = ? AND queues = ?;

-- name: working_record
SELECT record FROM working WHERE ns = ? AND name = ? AND queues = ?;

-- name: working_delete
DELETE FROM working WHERE ns = ? AND name = ? AND queues = ?;

-- name: working_task_exists
SELECT 1 FROM working WHERE ns = ? AND task = ? LIMIT 1;

-- ------------------------------------------------------------------ failed

-- name: failed_append
INSERT INTO failed (ns, digest, record) VALUES (?, ?, ?);

-- name: failed_length
SELECT count(*) FROM failed WHERE ns = ?;

-- name: failed_range
SELECT record FROM failed WHERE ns = ? ORDER BY id LIMIT ? OFFSET ?;

-- name: failed_range_desc
SELECT record FROM failed WHERE ns = ? ORDER BY id DESC LIMIT ? OFFSET ?;

-- name: failed_remove_one
DELETE FROM failed WHERE id = (
    SELECT id FROM failed WHERE ns = ? AND digest = ? AND record = ? ORDER BY id LIMIT 1
);

-- --------------------------------------------------------- stats and locks

-- name: stat_incr
INSERT INTO stats (ns, name, value) VALUES (?, ?, ?)
ON CONFLICT (ns, name) DO UPDATE SET value = value + excluded.value;

-- name: stat_delete
DELETE FROM stats WHERE ns = ? AND name = ?;

-- name: stat_all
SELECT name, value FROM stats WHERE ns = ? ORDER BY name;

-- name: lock_purge
DELETE FROM locks WHERE ns = ? AND key = ? AND expires IS NOT NULL AND expires <= ?;

-- name: lock_insert
INSERT INTO locks (ns, key, value, expires) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING;

-- name: lock_set
INSERT INTO locks (ns, key, value, expires) VALUES (?, ?, ?, ?)
ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires = excluded.expires;

-- name: lock_get
SELECT value FROM locks WHERE ns = ? AND key = ? AND (expires IS NULL OR expires > ?);

-- name: lock_delete
DELETE FROM locks WHERE ns = ? AND key = ?;

-- name: lock_list
SELECT key, value FROM locks
WHERE ns = ? AND (expires IS NULL OR expires > ?)
  AND ((key >= 'lock:' AND key < 'lock;') OR (key >= 'workerslock:' AND key < 'workerslock;'))
ORDER BY key;

-- --------------------------------------------------------------- recurrent

-- name: stopped_add
INSERT INTO stopped (ns, task) VALUES (?, ?) ON CONFLICT DO NOTHING;

-- name: stopped_remove
DELETE FROM stopped WHERE ns = ? AND task = ?;

-- name: stopped_exists
SELECT 1 FROM stopped WHERE ns = ? AND task = ?;

-- name: stopped_all
SELECT task FROM stopped WHERE ns = ?;
