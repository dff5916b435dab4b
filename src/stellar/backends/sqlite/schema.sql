-- Stellar tasks: the SQLite schema (PRAGMA user_version = 1).
--
-- Each table mirrors one family of Resque keys. Every row carries `ns`, the Resque
-- namespace ("resque" by default), so several namespaces can share one file exactly as
-- they share one Redis database. Payload and record texts are stored verbatim; `digest`
-- is a 64-bit hash of that text (computed by the backend) that indexes exact-text
-- lookups without copying long payloads into an index.
--
-- The backend applies this file inside one BEGIN IMMEDIATE transaction when the file's
-- user_version is below the version it expects, then sets user_version.

-- N:queues (SET): names of all known queues.
CREATE TABLE IF NOT EXISTS queues (
    ns   TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (ns, name)
) WITHOUT ROWID;

-- N:queue:<q> (LIST). `position` is the rowid: appends get max + 1 (the tail), a released
-- job gets min - 1 (the head), so ordering by position within a queue is Resque's order.
CREATE TABLE IF NOT EXISTS jobs (
    position INTEGER PRIMARY KEY,
    ns       TEXT    NOT NULL,
    queue    TEXT    NOT NULL,
    digest   INTEGER NOT NULL,
    payload  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_queue ON jobs (ns, queue);
CREATE INDEX IF NOT EXISTS jobs_by_payload ON jobs (ns, queue, digest);

-- N:delayed_queue_schedule, N:delayed:<ts>, N:timestamps:<payload>. `ts` is Resque's whole
-- second ceil(at); `at` is the precise time the scheduler compares; `queue` is the job's
-- queue, read from the payload when it was filed (where promotion moves it).
CREATE TABLE IF NOT EXISTS delayed (
    id      INTEGER PRIMARY KEY,
    ns      TEXT    NOT NULL,
    ts      INTEGER NOT NULL,
    at      REAL    NOT NULL,
    queue   TEXT    NOT NULL,
    digest  INTEGER NOT NULL,
    payload TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS delayed_by_ts ON delayed (ns, ts);
CREATE INDEX IF NOT EXISTS delayed_by_at ON delayed (ns, at);
CREATE INDEX IF NOT EXISTS delayed_by_payload ON delayed (ns, digest, ts);

-- N:workers (SET of "<name>:<queues>") with N:worker:<name>:<queues>:started.
CREATE TABLE IF NOT EXISTS workers (
    ns      TEXT NOT NULL,
    name    TEXT NOT NULL,
    queues  TEXT NOT NULL,
    started REAL,
    PRIMARY KEY (ns, name, queues)
) WITHOUT ROWID;

-- N:worker:ping:<name>.
CREATE TABLE IF NOT EXISTS pings (
    ns   TEXT NOT NULL,
    name TEXT NOT NULL,
    time REAL NOT NULL,
    PRIMARY KEY (ns, name)
) WITHOUT ROWID;

-- N:worker:<name>:<queues> (the working-on record), with the claimed job's queue,
-- payload and task name kept beside it for release and ensure_delayed.
CREATE TABLE IF NOT EXISTS working (
    ns      TEXT NOT NULL,
    name    TEXT NOT NULL,
    queues  TEXT NOT NULL,
    record  TEXT NOT NULL,
    queue   TEXT NOT NULL,
    payload TEXT NOT NULL,
    task    TEXT,
    PRIMARY KEY (ns, name, queues)
);
CREATE INDEX IF NOT EXISTS working_by_task ON working (ns, task);

-- N:failed (LIST), oldest first.
CREATE TABLE IF NOT EXISTS failed (
    id     INTEGER PRIMARY KEY,
    ns     TEXT    NOT NULL,
    digest INTEGER NOT NULL,
    record TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS failed_by_ns ON failed (ns);
CREATE INDEX IF NOT EXISTS failed_by_record ON failed (ns, digest);

-- N:stat:<name> counters.
CREATE TABLE IF NOT EXISTS stats (
    ns    TEXT    NOT NULL,
    name  TEXT    NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (ns, name)
) WITHOUT ROWID;

-- N:lock:*, N:workerslock:* and N:resque_scheduler_leader_lock: string keys with an
-- expiry (unix seconds; NULL: never). An expired row counts as absent.
CREATE TABLE IF NOT EXISTS locks (
    ns      TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    expires REAL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;

-- N:stellar:stopped: periodic tasks stopped by stop_recurrent.
CREATE TABLE IF NOT EXISTS stopped (
    ns   TEXT NOT NULL,
    task TEXT NOT NULL,
    PRIMARY KEY (ns, task)
) WITHOUT ROWID;
