"""The embedded backend: Resque's data model in one SQLite file.

URLs:

* ``sqlite:///relative/path.db``: relative to ``root`` (the application root), or to the
  current directory when ``root`` is None;
* ``sqlite:////absolute/path.db``: an absolute path;
* ``sqlite://:memory:``: a private in-memory database, gone when the backend closes.

Missing parent directories are created on first use; nothing touches the disk before the
first call.

Layout (``schema.sql``): one table per family of Resque keys (queues, jobs, delayed,
workers, pings, working, failed, stats, locks, stopped). Every row has an ``ns`` column
holding the namespace, so several namespaces share one file as they would share one Redis
database. Payloads and records are stored as the exact strings given, the same JSON
Redis holds. Delayed jobs keep Resque's whole-second ``ceil(at)`` beside the precise
``at``, which is the time :meth:`SqliteBackend.promote_due` compares.

Concurrency: each backend owns one thread and one connection, and every method runs its
SQL there, off the event loop. The file is in WAL mode with ``synchronous=NORMAL`` and a
5 s busy timeout; every write is one ``BEGIN IMMEDIATE`` transaction, so several
processes on one host can share the file and each multi-step change is atomic.

Times: worker start and ping times are whole seconds rounded half up, as node-resque
writes them, so both backends report the same; lock and leader expiry use this host's
clock (``time.time()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from queue import SimpleQueue
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from stellar.backends.protocol import (
    Backend,
    Claimed,
    ClaimRequest,
    Promotion,
    Settlement,
    Signal,
    WorkerRecord,
)
from stellar.codec import decode_job, encode_working_on
from stellar.errors import BackendError, BackendUnavailable, ConfigError, StellarError

__all__ = ["FALLBACK_QUEUE", "SCHEMA_VERSION", "SqliteBackend"]

SCHEMA_VERSION = 1
BUSY_TIMEOUT = 5.0
WAIT_POLL = 0.01  # seconds between two looks at the file in wait_for
LEADER_KEY = "resque_scheduler_leader_lock"
FALLBACK_QUEUE = "default"
"""Where ``promote_due`` moves a delayed job whose payload names no queue (not JSON, not an
object, no string ``queue``): into a queue, where a worker fails it with its raw text kept,
rather than leaving it due for ever. The Redis backend does the same."""

P = ParamSpec("P")
T = TypeVar("T")
Conn = sqlite3.Connection

# Failures of the file or its locking, not of a statement: the storage is unreachable.
_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_PERM,
    }
)


def _load_sql(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _parse_queries(text: str) -> dict[str, str]:
    """Split ``queries.sql`` into its ``-- name: x`` blocks."""
    queries: dict[str, str] = {}
    for match in re.finditer(r"^-- name: (\w+)\n(.*?)(?=^-- |\Z)", text, re.M | re.S):
        sql = match.group(2).strip()
        if not sqlite3.complete_statement(sql):
            raise RuntimeError(f"queries.sql: block {match.group(1)!r} is not one statement")
        queries[match.group(1)] = sql
    return queries


def _split_script(text: str) -> list[str]:
    """The statements of ``schema.sql``, each run on its own inside our transaction
    (``executescript`` would commit first)."""
    statements: list[str] = []
    buffer = ""
    for line in text.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise RuntimeError("schema.sql ends with an incomplete statement")
    return statements


Q = _parse_queries(_load_sql("queries.sql"))
SCHEMA = _split_script(_load_sql("schema.sql"))


def _digest(text: str) -> int:
    """A signed 64-bit hash of ``text``: indexes exact-text lookups."""
    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(raw, "big", signed=True)


def _task_of(payload: str, queue: str) -> str | None:
    """The task name of a payload claimed from ``queue``, None when it is not a valid job."""
    try:
        return decode_job(payload, queue).task
    except (StellarError, ValueError, TypeError, KeyError, RecursionError):
        return None


def _queue_of(payload: str) -> str:
    """The queue a delayed job is promoted to: its payload's ``queue`` (any JSON object with
    a non-blank string ``queue``), else :data:`FALLBACK_QUEUE`."""
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return FALLBACK_QUEUE
    queue = value.get("queue") if isinstance(value, dict) else None
    return queue if isinstance(queue, str) and queue.strip() else FALLBACK_QUEUE


def _whole_seconds(now: float) -> int:
    """Worker start and ping times as node-resque stores them: ``Math.round`` seconds."""
    return math.floor(now + 0.5)


def _lrange(length: int, start: int, stop: int) -> tuple[int, int] | None:
    """Redis ``LRANGE`` indices as ``(offset, limit)``, None when the range is empty."""
    if start < 0:
        start = max(length + start, 0)
    if stop < 0:
        stop = length + stop
    stop = min(stop, length - 1)
    if start > stop:
        return None
    return start, stop - start + 1


def parse_url(url: str, root: Path | None) -> Path | None:
    """The database file a ``sqlite:`` URL names; None for ``:memory:``."""
    prefix = "sqlite://"
    if not url.lower().startswith(prefix):
        raise ConfigError(f"backend {url!r}: an SQLite URL starts with {prefix!r}")
    rest = url[len(prefix) :]
    if rest in (":memory:", "/:memory:"):
        return None
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(
            f"backend {url!r}: use sqlite:///relative/path.db, sqlite:////absolute/path.db "
            "or sqlite://:memory:"
        )
    rest = rest[1:]
    path = Path(rest)
    if not path.is_absolute():
        path = (root if root is not None else Path.cwd()) / path
    return path


def _settle(future: asyncio.Future[T], result: T | None, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled; the call's effects stand
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]  # None only with an error


_Call = tuple[Callable[[], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


class _SqlThread:
    """One thread running calls in order: a single-thread executor that settles asyncio
    futures directly (about a quarter less overhead per call than ``run_in_executor``)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._calls: SimpleQueue[_Call | None] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._thread is None:
                # A daemon, so a backend never closed cannot hang interpreter exit; SQLite
                # keeps the file consistent whatever moment the process ends at.
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._calls.put((fn, future, loop))
        return future

    def stop(self) -> None:
        """Let the thread end once the calls already submitted are done."""
        self._calls.put(None)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            self._one(*call)
            del call  # hold no reference to the backend while idle (see weakref.finalize)

    @staticmethod
    def _one(
        fn: Callable[[], Any], future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = fn()
        except BaseException as exc:  # handed to the awaiting coroutine
            error = exc
        try:
            loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:  # the loop is closed: nobody waits for this answer
            pass


class SqliteBackend:
    """Queues, delayed jobs, workers, failures, stats and locks in an SQLite file."""

    def __init__(self, url: str, *, namespace: str = "resque", root: Path | None = None) -> None:
        self.url = url
        self.namespace = namespace
        self.path = parse_url(url, root)
        self._where = str(self.path) if self.path is not None else ":memory:"
        self._thread = _SqlThread(f"stellar-sqlite {self._where}")
        weakref.finalize(self, self._thread.stop)
        self._conn: Conn | None = None
        self._closed = False
        # wait_for: the file's data_version last seen per signal, and this backend's own
        # writes (data_version only counts other connections' commits)
        self._base_version: int | None = None
        self._seen: dict[str, int] = {}
        self._earliest: float | None = None  # wait_for("delayed"): earliest due time seen
        self._local = {"queued": asyncio.Event(), "delayed": asyncio.Event()}

    def __repr__(self) -> str:
        return f"SqliteBackend({self.url!r}, namespace={self.namespace!r})"

    async def __aenter__(self) -> SqliteBackend:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------ plumbing
    async def _read(
        self, fn: Callable[Concatenate[Conn, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await self._submit(False, lambda conn: fn(conn, *args, **kwargs))

    async def _write(
        self, fn: Callable[Concatenate[Conn, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await self._submit(True, lambda conn: fn(conn, *args, **kwargs))

    async def _submit(self, write: bool, call: Callable[[Conn], T]) -> T:
        if self._closed:
            raise BackendError(f"SQLite backend {self._where} is closed")
        return await self._thread.submit(lambda: self._execute(write, call))

    def _execute(self, write: bool, call: Callable[[Conn], T]) -> T:
        """Runs in the backend's thread: one call, one transaction when it writes."""
        try:
            conn = self._connection()
            return self._transaction(conn, call) if write else call(conn)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    @staticmethod
    def _transaction(conn: Conn, call: Callable[[Conn], T]) -> T:
        """Run ``call`` in one ``BEGIN IMMEDIATE`` transaction: all of it or nothing."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = call(conn)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _translate(self, exc: sqlite3.Error) -> BackendError:
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in _UNAVAILABLE or "unable to open" in str(exc):
            return BackendUnavailable(f"SQLite database {self._where} is unavailable: {exc}")
        return BackendError(f"SQLite database {self._where}: {exc}")

    def _connection(self) -> Conn:
        if self._conn is not None:
            return self._conn
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BackendUnavailable(
                    f"SQLite database {self._where}: cannot create its directory: {exc}"
                ) from exc
        conn = sqlite3.connect(
            self._where,
            timeout=BUSY_TIMEOUT,
            isolation_level=None,
            cached_statements=256,
        )
        try:
            if self.path is not None:
                # Small pages for small rows: each commit appends whole pages to the WAL,
                # and 1 KiB pages make a claim or finish write a quarter of the bytes.
                # Only a new file takes it (before WAL); an existing one keeps its size.
                conn.execute("PRAGMA page_size=1024")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA wal_autocheckpoint=4000")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
            self._migrate(conn)
            if self._base_version is None:
                self._base_version = self._data_version(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _migrate(self, conn: Conn) -> None:
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise BackendError(
                    f"SQLite database {self._where} has schema version {version}; this "
                    f"version of stellar knows up to {SCHEMA_VERSION}: upgrade stellar"
                )
            if version < SCHEMA_VERSION:
                for statement in SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        """Close the connection and stop the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._thread.submit(self._close_connection)
        finally:
            self._thread.stop()

    async def check(self) -> None:
        def run(conn: Conn) -> None:
            conn.execute("SELECT 1").fetchone()

        await self._read(run)

    # ------------------------------------------------------------ signals
    def _signal(self, signal: Signal) -> None:
        """This backend wrote what ``signal`` announces (other processes see the commit)."""
        self._local[signal].set()

    @staticmethod
    def _data_version(conn: Conn) -> int:
        return int(conn.execute("PRAGMA data_version").fetchone()[0])

    def _version_and_earliest(self, conn: Conn, signal: Signal) -> tuple[int, float | None]:
        version = self._data_version(conn)
        if signal != "delayed" or version == self._seen.get(signal, self._base_version):
            return version, self._earliest
        due = conn.execute(Q["delayed_next"], (self.namespace,)).fetchone()[0]
        return version, None if due is None else float(due)

    async def wait_for(self, signal: Signal, timeout: float) -> str | None:
        """Other processes' writes are seen by polling the file's ``data_version`` (any
        commit of another connection) every :data:`WAIT_POLL` seconds: for ``queued``
        any such commit is a (maybe spurious) signal; for ``delayed`` only one that
        brought the earliest due time forward. This backend's own writes wake the waiter
        at once."""
        event = self._local[signal]
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            version, earliest = await self._read(self._version_and_earliest, signal)
            if self._base_version is None:
                self._base_version = version
            seen = self._seen.get(signal, self._base_version)
            self._seen[signal] = version
            if signal == "delayed" and version != seen:
                before, self._earliest = self._earliest, earliest
                if earliest is None or (before is not None and earliest >= before):
                    version = seen  # other writes: nothing due sooner
            if version != seen or event.is_set():
                event.clear()
                return ""  # which queue is not known
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(WAIT_POLL, left)):
                    await event.wait()

    # ---------------------------------------------------- shared steps (in a txn)
    def _append(self, conn: Conn, queue: str, payloads: Iterable[str]) -> None:
        ns = self.namespace
        conn.execute(Q["queue_register"], (ns, queue))
        conn.executemany(Q["job_append"], ((ns, queue, _digest(p), p) for p in payloads))

    def _fail(self, conn: Conn, record: str) -> None:
        conn.execute(Q["failed_append"], (self.namespace, _digest(record), record))

    def _incr(self, conn: Conn, deltas: Iterable[tuple[str, int]]) -> None:
        ns = self.namespace
        conn.executemany(Q["stat_incr"], ((ns, name, delta) for name, delta in deltas))

    def _push_delayed(self, conn: Conn, payload: str, at: float) -> bool:
        ns, digest, ts = self.namespace, _digest(payload), math.ceil(at)
        if conn.execute(Q["delayed_exists_at"], (ns, digest, ts, payload)).fetchone():
            return False
        queue = _queue_of(payload)
        conn.execute(Q["delayed_insert"], (ns, ts, float(at), queue, digest, payload))
        return True

    def _ensure_delayed(self, conn: Conn, task: str, queue: str, payload: str, at: float) -> bool:
        ns, digest = self.namespace, _digest(payload)
        if (
            conn.execute(Q["stopped_exists"], (ns, task)).fetchone()
            or conn.execute(Q["job_exists"], (ns, queue, digest, payload)).fetchone()
            or conn.execute(Q["delayed_exists"], (ns, digest, payload)).fetchone()
            or conn.execute(Q["working_task_exists"], (ns, task)).fetchone()
        ):
            return False
        return self._push_delayed(conn, payload, at)

    def _drop_worker(self, conn: Conn, name: str, queues: str) -> None:
        ns = self.namespace
        conn.execute(Q["worker_unregister"], (ns, name, queues))
        conn.execute(Q["working_delete"], (ns, name, queues))
        conn.execute(Q["ping_delete"], (ns, name))
        conn.executemany(Q["stat_delete"], ((ns, f"processed:{name}"), (ns, f"failed:{name}")))

    def _page(
        self, conn: Conn, table: str, key: tuple[str, ...], start: int, stop: int
    ) -> list[str]:
        """Redis ``LRANGE`` over ``queue`` or ``failed``: both indices from the head or
        both from the tail need no count (so paging the tail of a long list is cheap)."""
        forward, backward = Q[f"{table}_range"], Q[f"{table}_range_desc"]
        if start >= 0 and stop >= 0:
            if start > stop:
                return []
            return [row[0] for row in conn.execute(forward, (*key, stop - start + 1, start))]
        if start < 0 and stop < 0:
            if start > stop:
                return []
            rows = conn.execute(backward, (*key, stop - start + 1, -stop - 1)).fetchall()
            return [row[0] for row in reversed(rows)]
        conn.execute("BEGIN")  # count and read in one snapshot
        try:
            length = conn.execute(Q[f"{table}_length"], key).fetchone()[0]
            window = _lrange(length, start, stop)
            if window is None:
                return []
            offset, limit = window
            return [row[0] for row in conn.execute(forward, (*key, limit, offset))]
        finally:
            conn.execute("COMMIT")

    @staticmethod
    def _column(sql: str, params: tuple[object, ...]) -> Callable[[Conn], list[Any]]:
        """A read returning the first column of every row."""

        def run(conn: Conn) -> list[Any]:
            return [row[0] for row in conn.execute(sql, params)]

        return run

    @staticmethod
    def _value(sql: str, params: tuple[object, ...]) -> Callable[[Conn], Any]:
        """A read returning the first column of the first row."""

        def run(conn: Conn) -> Any:
            return conn.execute(sql, params).fetchone()[0]

        return run

    # -------------------------------------------------------------- queues
    async def push(self, queue: str, payloads: Sequence[str]) -> None:
        await self._write(self._append, queue, list(payloads))
        self._signal("queued")

    async def queues(self) -> list[str]:
        return await self._read(self._column(Q["queue_names"], (self.namespace,)))

    async def length(self, queue: str) -> int:
        return int(await self._read(self._value(Q["queue_length"], (self.namespace, queue))))

    async def queued(self, queue: str, start: int = 0, stop: int = -1) -> list[str]:
        return await self._read(self._page, "queue", (self.namespace, queue), start, stop)

    async def remove(self, queue: str, payload: str, count: int = 0) -> int:
        def run(conn: Conn) -> int:
            sql = Q["job_remove_last"] if count < 0 else Q["job_remove_first"]
            limit = abs(count) if count else -1
            params = (self.namespace, queue, _digest(payload), payload, limit)
            return conn.execute(sql, params).rowcount

        return await self._write(run)

    async def delete_queue(self, queue: str) -> int:
        def run(conn: Conn) -> int:
            removed = conn.execute(Q["queue_clear"], (self.namespace, queue)).rowcount
            conn.execute(Q["queue_unregister"], (self.namespace, queue))
            return removed

        return await self._write(run)

    async def claim(
        self, queues: Sequence[str], worker: str, worker_queues: str, now: float
    ) -> Claimed | None:
        ns = self.namespace
        names = list(queues)

        def pop(conn: Conn) -> Claimed | None:
            for queue in names:
                rows = conn.execute(Q["job_pop"], (ns, queue)).fetchall()
                if not rows:
                    continue
                payload: str = rows[0][0]
                record = encode_working_on(worker, queue, payload, now)
                task = _task_of(payload, queue)
                conn.execute(
                    Q["working_set"], (ns, worker, worker_queues, record, queue, payload, task)
                )
                return Claimed(queue=queue, payload=payload, record=record)
            return None

        def run(conn: Conn) -> Claimed | None:
            # An idle poll only reads, so idle workers never take the write lock.
            if not any(conn.execute(Q["queue_any"], (ns, q)).fetchone() for q in names):
                return None
            return self._transaction(conn, pop)

        return await self._read(run)

    async def claim_many(
        self, requests: Sequence[ClaimRequest], now: float
    ) -> list[Claimed | None]:
        ns = self.namespace
        wanted = list(dict.fromkeys(q for request in requests for q in request.queues))

        def run(conn: Conn) -> list[Claimed | None]:
            if not any(conn.execute(Q["queue_any"], (ns, q)).fetchone() for q in wanted):
                return [None] * len(requests)  # idle: a read only, as in claim
            return self._transaction(conn, lambda c: self._pop(c, requests, now))

        if not requests:
            return []
        return await self._read(run)

    def _pop(
        self, conn: Conn, requests: Sequence[ClaimRequest], now: float
    ) -> list[Claimed | None]:
        """The claims of :meth:`claim_many`, inside a transaction."""
        ns = self.namespace
        claims: list[Claimed | None] = []
        for request in requests:
            claim: Claimed | None = None
            for queue in request.queues:
                row = conn.execute(Q["job_pop"], (ns, queue)).fetchone()
                if row is None:
                    continue
                payload: str = row[0]
                record = encode_working_on(request.worker, queue, payload, now)
                working = (request.worker, request.worker_queues, record, queue, payload)
                conn.execute(Q["working_set"], (ns, *working, _task_of(payload, queue)))
                claim = Claimed(queue=queue, payload=payload, record=record)
                break
            claims.append(claim)
        return claims

    # ------------------------------------------------------------- delayed
    async def push_delayed(self, payload: str, at: float) -> bool:
        filed = await self._write(self._push_delayed, payload, at)
        if filed:
            self._signal("delayed")
        return filed

    async def timestamps(self) -> list[int]:
        return await self._read(self._column(Q["delayed_timestamps"], (self.namespace,)))

    async def delayed_at(self, timestamp: int) -> list[str]:
        return await self._read(self._column(Q["delayed_at"], (self.namespace, int(timestamp))))

    async def delayed_count(self) -> int:
        return int(await self._read(self._value(Q["delayed_count"], (self.namespace,))))

    async def scheduled_at(self, payload: str) -> list[int]:
        params = (self.namespace, _digest(payload), payload)
        return await self._read(self._column(Q["delayed_scheduled"], params))

    async def remove_delayed(self, payload: str) -> list[int]:
        def run(conn: Conn) -> list[int]:
            params = (self.namespace, _digest(payload), payload)
            return sorted(row[0] for row in conn.execute(Q["delayed_remove_payload"], params))

        return await self._write(run)

    async def remove_delayed_at(self, timestamp: int) -> int:
        def run(conn: Conn) -> int:
            return conn.execute(Q["delayed_remove_at"], (self.namespace, int(timestamp))).rowcount

        return await self._write(run)

    async def remove_all_delayed(self) -> int:
        def run(conn: Conn) -> int:
            return conn.execute(Q["delayed_remove_all"], (self.namespace,)).rowcount

        return await self._write(run)

    async def next_due(self) -> float | None:
        due = await self._read(self._value(Q["delayed_next"], (self.namespace,)))
        return None if due is None else float(due)

    async def promote_due(self, now: float, limit: int = 1000) -> int:
        return (await self.promote_round(now, limit)).moved

    async def promote_round(
        self, now: float, limit: int = 1000, claims: Sequence[ClaimRequest] = ()
    ) -> Promotion:
        ns = self.namespace

        def run(conn: Conn) -> Promotion:
            due = conn.execute(Q["delayed_due"], (ns, now, max(limit, 0))).fetchall()
            for queue in {row[1] for row in due}:
                conn.execute(Q["queue_register"], (ns, queue))
            conn.executemany(Q["job_append"], ((ns, q, d, p) for _, q, d, p in due))
            conn.executemany(Q["delayed_delete_id"], ((row[0],) for row in due))
            following = conn.execute(Q["delayed_next"], (ns,)).fetchone()[0]
            claimed = tuple(self._pop(conn, claims, now))
            return Promotion(len(due), None if following is None else float(following), claimed)

        promotion = await self._write(run)
        if promotion.moved:
            self._signal("queued")
        return promotion

    # ------------------------------------------------------------- workers
    async def register_worker(self, name: str, queues: str, now: float) -> None:
        def run(conn: Conn) -> None:
            started = _whole_seconds(now)
            conn.execute(Q["worker_register"], (self.namespace, name, queues, started))
            conn.execute(Q["ping_set"], (self.namespace, name, started))

        await self._write(run)

    async def ping_worker(self, name: str, queues: str, now: float) -> None:
        def run(conn: Conn) -> None:
            conn.execute(Q["ping_set"], (self.namespace, name, _whole_seconds(now)))

        await self._write(run)

    async def unregister_worker(self, name: str, queues: str) -> None:
        await self._write(self._drop_worker, name, queues)

    async def workers(self) -> dict[str, str]:
        def run(conn: Conn) -> dict[str, str]:
            return dict(conn.execute(Q["worker_list"], (self.namespace,)).fetchall())

        return await self._read(run)

    async def worker_records(self) -> list[WorkerRecord]:
        def run(conn: Conn) -> list[WorkerRecord]:
            rows = conn.execute(Q["worker_records"], (self.namespace,)).fetchall()
            return [WorkerRecord(*row) for row in rows]

        return await self._read(run)

    async def working_on(self, name: str, queues: str) -> str | None:
        def run(conn: Conn) -> str | None:
            row = conn.execute(Q["working_record"], (self.namespace, name, queues)).fetchone()
            return None if row is None else str(row[0])

        return await self._read(run)

    async def finish(
        self,
        name: str,
        queues: str,
        *,
        failure: str | None = None,
        reschedule: tuple[str, str, str, float] | None = None,
        discard: bool = False,
    ) -> None:
        def run(conn: Conn) -> None:
            conn.execute(Q["working_delete"], (self.namespace, name, queues))
            if discard:  # vetoed before it ran: nothing to count, nothing to reschedule
                return
            if failure is None:
                self._incr(conn, (("processed", 1), (f"processed:{name}", 1)))
            else:
                self._fail(conn, failure)
                self._incr(conn, (("failed", 1), (f"failed:{name}", 1)))
            if reschedule is not None:
                self._ensure_delayed(conn, *reschedule)

        await self._write(run)

    async def wait_and_claim(
        self, requests: Sequence[ClaimRequest], now: float, timeout: float
    ) -> tuple[str | None, list[Claimed | None]]:
        signal = await self.wait_for("queued", timeout)
        return signal, await self.claim_many(requests, now)

    async def finish_many(self, settlements: Sequence[Settlement]) -> None:
        if settlements:
            await self._write(self._settle, settlements)

    async def prepare(self, concurrency: int) -> None:
        """Nothing to open ahead: one connection, on the backend's own thread."""

    async def finish_and_claim(
        self, settlements: Sequence[Settlement], requests: Sequence[ClaimRequest], now: float
    ) -> list[Claimed | None]:
        def run(conn: Conn) -> list[Claimed | None]:
            self._settle(conn, settlements)
            return self._pop(conn, requests, now)

        return await self._write(run)

    def _settle(self, conn: Conn, settlements: Sequence[Settlement]) -> None:
        """The settles of :meth:`finish_many`, inside a transaction."""
        ns = self.namespace
        deltas: dict[str, int] = {}
        for item in settlements:
            conn.execute(Q["working_delete"], (ns, item.worker, item.worker_queues))
            if item.discard:
                continue
            kind = "processed" if item.failure is None else "failed"
            if item.failure is not None:
                self._fail(conn, item.failure)
            for name in (kind, f"{kind}:{item.worker}"):
                deltas[name] = deltas.get(name, 0) + 1
        self._incr(conn, deltas.items())

    async def release(self, name: str, queues: str, expected: str) -> bool:
        ns = self.namespace

        def run(conn: Conn) -> bool:
            row = conn.execute(Q["working_get"], (ns, name, queues)).fetchone()
            if row is None or row[0] != expected:
                return False
            _, queue, payload = row
            conn.execute(Q["working_delete"], (ns, name, queues))
            conn.execute(Q["queue_register"], (ns, queue))
            conn.execute(Q["job_prepend"], (ns, queue, _digest(payload), payload))
            return True

        released = await self._write(run)
        if released:
            self._signal("queued")
        return released

    async def clean_worker(
        self,
        name: str,
        queues: str,
        *,
        expected: str | None,
        failure: str | None = None,
        requeue: tuple[str, str] | None = None,
    ) -> bool:
        def run(conn: Conn) -> bool:
            row = conn.execute(Q["working_record"], (self.namespace, name, queues)).fetchone()
            if (None if row is None else row[0]) != expected:
                return False
            self._drop_worker(conn, name, queues)
            if failure is not None:
                self._fail(conn, failure)
                self._incr(conn, (("failed", 1),))
            if requeue is not None:
                self._append(conn, requeue[0], (requeue[1],))
            return True

        return await self._write(run)

    # -------------------------------------------------------------- failed
    async def failed_count(self) -> int:
        return int(await self._read(self._value(Q["failed_length"], (self.namespace,))))

    async def failed(self, start: int = 0, stop: int = -1) -> list[str]:
        return await self._read(self._page, "failed", (self.namespace,), start, stop)

    async def remove_failed(self, record: str) -> int:
        def run(conn: Conn) -> int:
            params = (self.namespace, _digest(record), record)
            return conn.execute(Q["failed_remove_one"], params).rowcount

        return await self._write(run)

    async def retry_failed(self, record: str, queue: str, payload: str) -> bool:
        def run(conn: Conn) -> bool:
            params = (self.namespace, _digest(record), record)
            if conn.execute(Q["failed_remove_one"], params).rowcount == 0:
                return False
            self._append(conn, queue, (payload,))
            return True

        retried = await self._write(run)
        if retried:
            self._signal("queued")
        return retried

    # ------------------------------------------------------ stats and locks
    async def stats(self) -> dict[str, int]:
        def run(conn: Conn) -> dict[str, int]:
            return dict(conn.execute(Q["stat_all"], (self.namespace,)).fetchall())

        return await self._read(run)

    async def incr_stats(self, deltas: Mapping[str, int]) -> None:
        if not deltas:
            return
        await self._write(self._incr, list(deltas.items()))

    async def locks(self) -> dict[str, str]:
        def run(conn: Conn) -> dict[str, str]:
            return dict(conn.execute(Q["lock_list"], (self.namespace, time.time())).fetchall())

        return await self._read(run)

    def _take_lock(self, conn: Conn, key: str, value: str, ttl: float) -> bool:
        now = time.time()
        conn.execute(Q["lock_purge"], (self.namespace, key, now))
        return conn.execute(Q["lock_insert"], (self.namespace, key, value, now + ttl)).rowcount > 0

    async def acquire_lock(self, key: str, value: str, ttl: float) -> bool:
        return await self._write(self._take_lock, key, value, ttl)

    async def get_lock(self, key: str) -> str | None:
        def run(conn: Conn) -> str | None:
            row = conn.execute(Q["lock_get"], (self.namespace, key, time.time())).fetchone()
            return None if row is None else str(row[0])

        return await self._read(run)

    async def set_lock(self, key: str, value: str, ttl: float) -> None:
        def run(conn: Conn) -> None:
            conn.execute(Q["lock_set"], (self.namespace, key, value, time.time() + ttl))

        await self._write(run)

    async def delete_lock(self, key: str) -> bool:
        def run(conn: Conn) -> bool:
            conn.execute(Q["lock_purge"], (self.namespace, key, time.time()))
            return conn.execute(Q["lock_delete"], (self.namespace, key)).rowcount > 0

        return await self._write(run)

    # -------------------------------------------------------------- leader
    async def acquire_leader(self, name: str, ttl: float) -> bool:
        def run(conn: Conn) -> bool:
            if self._take_lock(conn, LEADER_KEY, name, ttl):
                return True
            row = conn.execute(Q["lock_get"], (self.namespace, LEADER_KEY, 0.0)).fetchone()
            if row is None or row[0] != name:
                return False
            conn.execute(Q["lock_set"], (self.namespace, LEADER_KEY, name, time.time() + ttl))
            return True

        return await self._write(run)

    async def release_leader(self, name: str) -> bool:
        def run(conn: Conn) -> bool:
            now = time.time()
            row = conn.execute(Q["lock_get"], (self.namespace, LEADER_KEY, now)).fetchone()
            if row is None or row[0] != name:
                return False
            conn.execute(Q["lock_delete"], (self.namespace, LEADER_KEY))
            return True

        return await self._write(run)

    async def leader(self) -> str | None:
        return await self.get_lock(LEADER_KEY)

    # ----------------------------------------------------------- recurrent
    async def ensure_delayed(self, task: str, queue: str, payload: str, at: float) -> bool:
        return await self._write(self._ensure_delayed, task, queue, payload, at)

    async def stop_recurrent(self, task: str) -> None:
        def run(conn: Conn) -> None:
            conn.execute(Q["stopped_add"], (self.namespace, task))

        await self._write(run)

    async def start_recurrent(self, task: str) -> None:
        def run(conn: Conn) -> None:
            conn.execute(Q["stopped_remove"], (self.namespace, task))

        await self._write(run)

    async def stopped_recurrent(self) -> set[str]:
        def run(conn: Conn) -> set[str]:
            return {row[0] for row in conn.execute(Q["stopped_all"], (self.namespace,))}

        return await self._read(run)


if TYPE_CHECKING:  # mypy checks every method against the contract

    def _conforms(backend: SqliteBackend) -> Backend:
        return backend
