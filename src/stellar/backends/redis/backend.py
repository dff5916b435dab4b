"""The Redis backend: Resque's own layout, shared with node-resque and Ruby Resque.

Every key comes from :class:`~stellar.backends.redis.keys.ResqueKeys`; every change that
touches more than one key is one Lua script of ``lua/`` (run by ``EVALSHA``). Reads that
need no atomicity go through pipelines without ``MULTI``, so that each method costs as few
round trips as possible: ``push``, ``claim`` and ``finish`` are one round trip each.

Some scripts need keys that are only known after reading (the queue of each delayed job,
the working-on record of each worker). Those methods read first, then pass every key they
read through ``KEYS`` to a script that checks again, atomically, what it was told:

* ``promote_due`` reads the due timestamps and their jobs, decodes each job's queue, and
  runs one ``promote`` script per timestamp. The script moves an item only if it is still
  filed there and still due (its precise time, else its whole-second timestamp), so a job
  is never lost nor moved twice, even with several schedulers or node-resque's beside us.
* ``ensure_delayed`` (and ``finish`` with ``reschedule``) read the workers set and our
  ``stellar:working`` set; the script refuses (``-1``) when either changed meanwhile, and
  the method reads again and retries.

Errors: connection failures, timeouts, a server that is loading, busy with a long script
or read-only (a replica after a fail-over) raise
:class:`~stellar.errors.BackendUnavailable`; any other Redis error raises
:class:`~stellar.errors.BackendError` (one translation, :meth:`RedisBackend._errors`).
Automatic command retries are off: a write is never sent twice behind the caller's back.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import socket
import time
import uuid
from collections.abc import (
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar, cast, overload
from urllib.parse import unquote, urlsplit, urlunsplit

import redis.exceptions as rx
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig

from stellar import codec
from stellar.backends.protocol import (
    Claimed,
    ClaimRequest,
    Promotion,
    Settlement,
    Signal,
    WorkerRecord,
)
from stellar.backends.redis.keys import ResqueKeys
from stellar.backends.redis.scripts import ScriptSet, load_scripts
from stellar.errors import BackendError, BackendUnavailable, ConfigError, PayloadError

__all__ = ["FALLBACK_QUEUE", "RedisBackend"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_Client = Redis | RedisCluster

FALLBACK_QUEUE = "default"
"""Where ``promote_due`` moves a delayed job whose payload names no queue (not JSON, not
an object, no string ``queue``): into a queue, where a worker fails it with its raw text
kept, rather than leaving it due for ever."""

_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
_ENSURE_ATTEMPTS = 50  # re-reads of the workers sets before giving up
_PROMOTE_PASSES = 100
_SCRIPT_CHUNK = 500  # items per promote / unschedule script call
_READ_CHUNK = 64  # timestamps read per pipeline in promote_due
_READ_AHEAD = 0.05
"""Seconds: a full promotion pass also reads the jobs due this soon after it (the precise
index's entries, with their payloads). When they fall due, the round that moves them
is one script call: no read first, no queue to decode, so they start a round trip
sooner. The script checks them again and names the earliest due time left; if that is
due too (a job filed after the read, one from another client), a full pass follows."""
_UNLIMITED = 2**31  # redis-py's default pool size: a limit not worth waiting for
_WAITER_TTL = 60.0  # seconds a wait_for registration lasts unless a later wait renews it
_KEEP = 16  # connections kept out of redis-py's pool between commands (see _take)
_REDIS_ERRORS = (rx.RedisError, rx.RedisClusterException, OSError)
_LOST = (rx.ConnectionError, OSError)  # the connection died (not a slow answer: a timeout)


def _mapped(
    method: Callable[Concatenate[RedisBackend, _P], Awaitable[_T]],
) -> Callable[Concatenate[RedisBackend, _P], Coroutine[Any, Any, _T]]:
    """Run ``method`` with Redis errors translated by :meth:`RedisBackend._errors`."""

    @functools.wraps(method)
    async def wrapper(self: RedisBackend, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        # try/except rather than `with self._errors()`: this runs on every call
        try:
            if self._client is None:
                self._redis()  # connects lazily, sizing the slots to the pool
            if self._slots is None:  # a pool without a limit: nothing to wait for
                return await method(self, *args, **kwargs)
            async with self._slots:
                return await method(self, *args, **kwargs)
        except _REDIS_ERRORS as exc:
            raise self._translate(exc) from exc

    return wrapper


def _pack(args: Sequence[Any]) -> bytes:
    """One command in RESP, as redis-py's ``pack_command`` writes it for our clients
    (UTF-8, ``surrogateescape``) at a third of its cost: this runs for every EVALSHA."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if type(arg) is str:
            data = arg.encode("utf-8", "surrogateescape")
        elif type(arg) is int:
            data = b"%d" % arg
        elif type(arg) is float:
            data = repr(arg).encode()
        elif isinstance(arg, bytes):
            data = arg
        else:
            raise TypeError(f"cannot send {type(arg).__name__} to redis: {arg!r}")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _claims(
    requests: Sequence[ClaimRequest], prefixes: Sequence[Sequence[str]], reply: Sequence[Any]
) -> list[Claimed | None]:
    """What lua/claim_many.lua answered, as each worker's claim (or None)."""
    claims: list[Claimed | None] = []
    for i, request in enumerate(requests):
        index, payload = int(reply[2 * i]), reply[2 * i + 1]
        if not index:
            claims.append(None)
            continue
        record = prefixes[i][index - 1] + payload + "}"
        claims.append(Claimed(request.queues[index - 1], payload, record))
    return claims


def _whole_second(at: float) -> int:
    """The delayed timestamp of ``at``: whole seconds, rounded up (never early)."""
    return math.ceil(at)


def _precise_arg(at: float, timestamp: int) -> str:
    """The precise time for a script, ``''`` when it is the whole second itself."""
    return "" if at == timestamp else repr(float(at))


def _ms(ttl: float) -> int:
    return max(1, math.ceil(ttl * 1000))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return int(number) if math.isfinite(number) else None


def _timestamp_of(member: str) -> int | None:
    """The timestamp of a ``delayed:<ts>`` member or a schedule member, else None."""
    return _int(member.rpartition(":")[2])


def _split_worker_id(worker_id: str) -> tuple[str, str]:
    """``(name, queues)`` of a workers-set member, split as node-resque's ``workers()``:
    names are ``host:pid[+n]``, so the queues start after the second colon."""
    parts = worker_id.split(":")
    if len(parts) >= 3:
        return ":".join(parts[:2]), ":".join(parts[2:])
    if len(parts) == 2:
        return parts[0], parts[1]
    return worker_id, ""


def _score(text: Any) -> float | None:
    """A due time a script answered (a sorted-set score), None for ``''``."""
    return float(text) if text not in ("", b"", None) else None


def _queue_of(payload: str) -> str:
    """The queue a delayed job goes to: its payload's ``queue``, else FALLBACK_QUEUE."""
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return FALLBACK_QUEUE
    queue = value.get("queue") if isinstance(value, dict) else None
    return queue if isinstance(queue, str) and queue.strip() else FALLBACK_QUEUE


def _record_job(record: str) -> tuple[str, str]:
    """``(queue, payload)`` of a working-on record.

    Our ``claim`` writes ``prefix .. payload .. "}"`` with ``payload`` last: then the job
    text is cut out exactly as it was in the queue (even when it is not JSON). Records of
    other clients are read by the codec.
    """
    info = codec.decode_working_on(record)
    cut = record.find('"payload":')
    if cut >= 0 and record.endswith("}"):
        head = record[: cut + len('"payload":')]
        ours = (
            ',"queue":' + codec.dumps(info.queue) + ',"worker":' + codec.dumps(info.worker)
        ) + ',"payload":'
        if head.startswith('{"run_at":') and head.endswith(ours):
            return info.queue, record[len(head) : -1]
    return info.queue, info.payload_text


def _started_of(text: str | None) -> float | None:
    if text is None:
        return None
    when = codec.parse_date(text)
    return when.timestamp() if when is not None else None


def _ping_of(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return codec.decode_ping(text)[0]
    except PayloadError:
        return None


def _redacted(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for error messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    except ValueError:
        return "<a URL that cannot be parsed>"


def _location(url: str) -> str:
    """``host:port`` (or the socket path) of ``url``, without credentials."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return unquote(parts.path) or url
        host = parts.hostname or "localhost"
        return f"{host}:{parts.port or 6379}"
    except ValueError:
        return "?"


def _hash_tagged(namespace: str) -> bool:
    start = namespace.find("{")
    return start >= 0 and namespace.find("}", start + 2) > start


class RedisBackend:
    """The :class:`~stellar.backends.protocol.Backend` contract on Redis.

    ``url``: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS),
    ``unix:///path/redis.sock[?db=n]``, or ``redis+cluster://host:port`` (also
    ``rediss+cluster://``) for a Redis Cluster, which needs a hash-tagged namespace such as
    ``{resque}`` so that every key lands in one slot. Client options redis-py reads from the
    URL query (``socket_timeout=``, ``ssl_cert_reqs=``...) are honoured.

    Nothing connects before the first call; :meth:`aclose` releases the connections (the
    backend connects again if used afterwards).
    """

    def __init__(self, url: str, *, namespace: str = "resque") -> None:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        self.url = url
        self.namespace = namespace
        self.keys = ResqueKeys(namespace)
        self._cluster = scheme in _CLUSTER_SCHEMES
        if self._cluster and not _hash_tagged(namespace):
            raise ConfigError(
                f"backend {_redacted(url)!r} is a Redis Cluster: the namespace must be "
                "hash-tagged so that all its keys share one slot, "
                f"e.g. namespace = '{{{namespace}}}'"
            )
        self._where = _location(url)
        self._scripts: ScriptSet = load_scripts()
        self._client: _Client | None = None
        # a permit per method call in flight: each holds at most one pooled connection
        self._slots: asyncio.Semaphore | None = None  # None: no limit to wait for
        # wait_for: this backend's waiter id and when it last registered, per signal
        self._waiter = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._registered: dict[str, float] = {}
        self._kept: list[Any] = []  # connections of the current client kept by _give
        #: precise entries read ahead by the last promotion pass: (due, timestamp, payload)
        self._ahead: list[tuple[float, str, str]] = []

    def __repr__(self) -> str:
        return f"RedisBackend({self._where!r}, namespace={self.namespace!r})"

    # ------------------------------------------------------------ connection
    def _redis(self) -> _Client:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> _Client:
        options: dict[str, Any] = {
            "decode_responses": True,
            # bytes that are not UTF-8 (a foreign client's) survive a round trip unchanged
            "encoding_errors": "surrogateescape",
            "socket_connect_timeout": 5.0,
            # No per-command timeout by default (it costs a timer per command; TCP
            # keepalive notices a dead peer); ?socket_timeout=<s> in the URL sets one.
            "socket_timeout": None,
            # never resend a command behind the caller's back: a write could apply twice
            "retry": Retry(NoBackoff(), 0),
            # redis-py's "auto" default skips the pool's check for connections the server
            # closed, so the first commands after a restart would fail; we speak RESP2
            "maint_notifications_config": MaintNotificationsConfig(enabled=False),
        }
        try:
            if self._cluster:
                scheme, rest = self.url.split("://", 1)
                direct = _CLUSTER_SCHEMES[scheme.lower()] + "://" + rest
                return RedisCluster.from_url(direct, **options)
            client = Redis.from_url(self.url, **options)
        except ValueError as exc:
            raise ConfigError(f"backend {_redacted(self.url)!r}: {exc}") from exc
        # redis-py's pool fails a command when all its connections are busy; wait instead
        limit = client.connection_pool.max_connections
        self._slots = asyncio.Semaphore(limit) if limit < _UNLIMITED else None
        return client

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Translate redis-py's errors into the backend contract's."""
        try:
            yield
        except _REDIS_ERRORS as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: BaseException) -> BackendError:
        """The contract's error for a redis-py (or socket) error."""
        if isinstance(exc, rx.AuthenticationError | rx.AuthorizationError):
            return BackendError(f"redis at {self._where} refused us: {exc}")
        if isinstance(
            exc,
            rx.ConnectionError  # also BusyLoadingError, MaxConnectionsError
            | rx.TimeoutError
            | rx.ClusterDownError
            | rx.TryAgainError
            | rx.SlotNotCoveredError
            | OSError,  # includes asyncio's TimeoutError
        ):
            return BackendUnavailable(f"redis at {self._where} is unreachable: {exc}")
        if isinstance(exc, rx.ReadOnlyError) or str(exc).startswith("BUSY "):
            # a replica after a fail-over, a long script elsewhere: it passes
            return BackendUnavailable(f"redis at {self._where} is unavailable: {exc}")
        return BackendError(f"redis at {self._where} failed: {exc}")

    async def aclose(self) -> None:
        client, self._client = self._client, None
        self._kept.clear()  # the client's aclose disconnects them with the rest
        if client is not None:
            if self._registered:
                await self._unregister_waiter(client)
            with self._errors():
                await client.aclose()

    @_mapped
    async def check(self) -> None:
        await self._redis().ping()

    @_mapped
    async def prepare(self, concurrency: int) -> None:
        """Open the connections the backend keeps (up to :data:`_KEEP`) for as many
        calls at once: the first burst of jobs would otherwise wait for a handshake per
        new connection, several milliseconds on a busy event loop."""
        client = self._redis()
        if self._cluster:
            return
        pool = cast(Redis, client).connection_pool
        for _ in range(min(concurrency, _KEEP) - len(self._kept)):
            self._kept.append(await pool.get_connection())  # type: ignore[no-untyped-call]

    # --------------------------------------------------------------- scripts
    async def _register_scripts(self, client: _Client) -> None:
        """Load every script on the server (after a NOSCRIPT: restart, flush, first use)."""
        for script in self._scripts.values():
            await client.script_load(script.source)

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        script = self._scripts[name]
        client = self._redis()
        try:
            return await self._evalsha(client, script.sha, keys, args)
        except rx.NoScriptError:
            await self._register_scripts(client)
            return await self._evalsha(client, script.sha, keys, args)

    async def _evalsha(
        self, client: _Client, sha: str, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """One EVALSHA. On a single server it goes straight to a connection of our own
        (:meth:`_take`): the hot paths (push, claim, finish) skip redis-py's per-command
        machinery (retries are off anyway), which is most of their client-side cost."""
        if self._cluster:
            return await client.evalsha(sha, len(keys), *keys, *args)
        (reply,) = await self._send_all(client, [("EVALSHA", sha, len(keys), *keys, *args)])
        if isinstance(reply, rx.ResponseError):
            raise reply
        return reply

    async def _send_all(self, client: _Client, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Send ``commands`` in one write on a connection of our own (single server only)
        and read their replies in order; an error reply comes back as its exception."""
        kept = self._kept
        connection = kept.pop() if kept else await self._take(client)
        ok = lost = False
        try:
            await connection.send_packed_command(b"".join(map(_pack, commands)))
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except rx.ResponseError as exc:  # an error reply, read whole
                    replies.append(exc)
            ok = True
            return replies
        except _LOST:
            lost = True
            raise
        finally:
            if ok and client is self._client and len(self._kept) < _KEEP:
                self._kept.append(connection)  # _give's common case, without a coroutine
            else:
                await self._give(client, connection, ok, lost)

    async def _take(self, client: _Client) -> Any:
        """A connection for one command: one the backend kept, else one from the pool.

        redis-py 8's pool checkout and return cost more than a small command itself (a
        lock, a readiness probe of the socket, observability hooks), so up to
        :data:`_KEEP` connections stay with the backend between commands."""
        if self._kept:
            return self._kept.pop()
        return await cast(Redis, client).connection_pool.get_connection()  # type: ignore[no-untyped-call]

    async def _give(self, client: _Client, connection: Any, ok: bool, lost: bool = False) -> None:
        """Keep ``connection`` for the next command. One whose reply was not read whole
        (an error, a cancelled wait) is disconnected first: it reconnects on next use, so
        a late reply can never be taken for another command's. When the connection was
        ``lost`` (the server went away), the other kept ones are closed too."""
        if not ok:
            await connection.disconnect()
        if lost:
            await self._drop_kept()
        if client is self._client and len(self._kept) < _KEEP:
            self._kept.append(connection)
        else:
            await cast(Redis, client).connection_pool.release(connection)

    async def _drop_kept(self) -> None:
        """The server went away (a restart, a fail-over): the connections kept idle are
        dead too, but would only say so on their next command, which is never sent twice.
        Close them now; the next commands open fresh ones."""
        stale, self._kept = self._kept, []
        pool = None if self._client is None else cast(Redis, self._client).connection_pool
        for connection in stale:
            await connection.disconnect()
            if pool is not None:
                await pool.release(connection)

    async def _scripts_batch(
        self, calls: Sequence[tuple[str, Sequence[str], Sequence[Any]]]
    ) -> list[Any]:
        """Run many script calls in one write, in order (each call atomic on its own).
        redis-py refuses EVALSHA in a cluster pipeline: there they run one after another."""
        if not calls:
            return []
        if len(calls) == 1 or self._cluster:
            return [await self._script(*call) for call in calls]
        client = self._redis()
        results: list[Any] = [None] * len(calls)
        pending = list(range(len(calls)))
        for _ in range(2):
            commands = []
            for i in pending:
                name, keys, args = calls[i]
                commands.append(("EVALSHA", self._scripts[name].sha, len(keys), *keys, *args))
            missing = []
            for i, reply in zip(pending, await self._send_all(client, commands), strict=True):
                if isinstance(reply, rx.NoScriptError):
                    missing.append(i)
                elif isinstance(reply, Exception):
                    raise reply
                else:
                    results[i] = reply
            if not missing:
                return results
            await self._register_scripts(client)
            pending = missing
        raise BackendError(f"redis at {self._where} does not keep our Lua scripts")

    async def _smembers(self, key: str) -> set[str]:
        return cast("set[str]", await self._redis().smembers(key))

    async def _lrange(self, key: str, start: int, stop: int) -> list[str]:
        return cast("list[str]", await self._redis().lrange(key, start, stop))

    async def _read(self, commands: Iterable[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Run read commands (method name, args) in one pipeline without MULTI."""
        pipe = self._redis().pipeline(transaction=False)
        for method, args in commands:
            getattr(pipe, method)(*args)
        return list(await pipe.execute())

    # ---------------------------------------------------------------- queues
    @_mapped
    async def push(self, queue: str, payloads: Sequence[str]) -> None:
        k = self.keys
        keys = [k.queues, k.queue(queue), k.notify_queued, k.waiting_queued]
        await self._script("push", keys, [queue, *payloads])

    @_mapped
    async def queues(self) -> list[str]:
        return sorted(await self._smembers(self.keys.queues))

    @_mapped
    async def length(self, queue: str) -> int:
        return int(await self._redis().llen(self.keys.queue(queue)))

    @_mapped
    async def queued(self, queue: str, start: int = 0, stop: int = -1) -> list[str]:
        return await self._lrange(self.keys.queue(queue), start, stop)

    @_mapped
    async def remove(self, queue: str, payload: str, count: int = 0) -> int:
        return int(await self._redis().lrem(self.keys.queue(queue), count, payload))

    @_mapped
    async def delete_queue(self, queue: str) -> int:
        k = self.keys
        return int(await self._script("delete_queue", [k.queue(queue), k.queues], [queue]))

    @_mapped
    async def claim(
        self, queues: Sequence[str], worker: str, worker_queues: str, now: float
    ) -> Claimed | None:
        if not queues:
            return None
        k = self.keys
        prefixes = [codec.working_on_prefix(worker, queue, now) for queue in queues]
        reply = await self._script(
            "claim",
            [k.worker(worker, worker_queues), k.working, *map(k.queue, queues)],
            [k.worker_id(worker, worker_queues), *prefixes],
        )
        if not reply:
            return None
        index, payload = int(reply[0]) - 1, reply[1]
        return Claimed(queues[index], payload, prefixes[index] + payload + "}")

    @_mapped
    async def claim_many(
        self, requests: Sequence[ClaimRequest], now: float
    ) -> list[Claimed | None]:
        return await self._claim_many(requests, now)

    async def _claim_many(
        self, requests: Sequence[ClaimRequest], now: float
    ) -> list[Claimed | None]:
        if not requests:
            return []
        keys, args, prefixes = self._claim_many_call(requests, now)
        reply = await self._script("claim_many", keys, args)
        return _claims(requests, prefixes, reply)

    def _claim_many_call(
        self, requests: Sequence[ClaimRequest], now: float
    ) -> tuple[list[str], list[Any], list[list[str]]]:
        """KEYS and ARGV of lua/claim_many.lua, and each worker's working-on prefixes."""
        k = self.keys
        keys = [k.working]
        args: list[Any] = [len(requests)]
        prefixes: list[list[str]] = []
        for request in requests:
            mine = [codec.working_on_prefix(request.worker, q, now) for q in request.queues]
            prefixes.append(mine)
            keys.append(k.worker(request.worker, request.worker_queues))
            keys += map(k.queue, request.queues)
            args += [k.worker_id(request.worker, request.worker_queues), len(mine), *mine]
        return keys, args, prefixes

    @_mapped
    async def wait_and_claim(
        self, requests: Sequence[ClaimRequest], now: float, timeout: float
    ) -> tuple[str | None, list[Claimed | None]]:
        """The wait of :meth:`wait_for` and the script of :meth:`claim_many` in one
        write: Redis runs the claim the moment the blocking pop returns."""
        if not requests:
            return await self._wait("queued", timeout), []
        keys, args, prefixes = self._claim_many_call(requests, now)
        sha = self._scripts["claim_many"].sha
        claim = ("EVALSHA", sha, len(keys), *keys, *args)
        signal, reply = await self._wait("queued", timeout, claim)
        if isinstance(reply, rx.ResponseError):
            if not isinstance(reply, rx.NoScriptError):
                raise reply
            reply = await self._script("claim_many", keys, args)  # registers the scripts
        return signal, _claims(requests, prefixes, reply)

    @_mapped
    async def wait_for(self, signal: Signal, timeout: float) -> str | None:
        return await self._wait(signal, timeout)

    @overload
    async def _wait(self, signal: Signal, timeout: float) -> str | None: ...

    @overload
    async def _wait(
        self, signal: Signal, timeout: float, then: tuple[Any, ...]
    ) -> tuple[str | None, Any]: ...

    async def _wait(
        self, signal: Signal, timeout: float, then: tuple[Any, ...] | None = None
    ) -> Any:
        """Renew this backend's registration as a waiter for ``signal`` (the zset
        ``N:stellar:waiting:<signal>``; scripts signal only while it is not empty), then
        ``BLPOP`` the signal's list, all in one round trip on a connection of its own.

        The first wait (or one after the registration lapsed, :data:`_WAITER_TTL`) only
        registers and answers ``""`` at once: nothing was signalled before, so the caller
        must look again. A configured ``socket_timeout`` bounds the wait."""
        k = self.keys
        if signal == "queued":
            key, waiting = k.notify_queued, k.waiting_queued
        else:
            key, waiting = k.notify_delayed, k.waiting_delayed
        now = time.time()
        fresh = now - self._registered.get(signal, -math.inf) < _WAITER_TTL / 2
        self._registered[signal] = now
        client = self._redis()
        if not self._cluster:
            limit = cast(Redis, client).connection_pool.connection_kwargs.get("socket_timeout")
            if limit:
                timeout = min(timeout, limit / 2)
        commands: list[tuple[Any, ...]] = [
            ("ZREMRANGEBYSCORE", waiting, "-inf", int(now * 1000)),
            ("ZADD", waiting, int((now + _WAITER_TTL) * 1000), self._waiter),
            ("BLPOP", key, f"{timeout:.3f}") if fresh and timeout >= 0.001 else ("LPOP", key),
        ]
        if then is not None:
            commands.append(then)
        replies = await self._wait_commands(client, commands)
        popped = replies[2]
        if isinstance(popped, Exception):
            raise popped
        if not fresh:
            signal_value: str | None = ""
        elif popped is None:
            signal_value = None
        else:  # BLPOP answers key and value, LPOP the value
            signal_value = str(popped[1] if isinstance(popped, list | tuple) else popped)
        return signal_value if then is None else (signal_value, replies[3])

    async def _wait_commands(
        self, client: _Client, commands: Sequence[tuple[Any, ...]]
    ) -> list[Any]:
        """Send ``commands`` in one write; their replies, an error reply as its exception."""
        replies: list[Any] = []
        if self._cluster:
            for command in commands:
                try:
                    replies.append(await client.execute_command(*command))
                except rx.ResponseError as exc:
                    replies.append(exc)
            return replies
        connection = await self._take(client)
        ok = lost = False
        try:
            await connection.send_packed_command(connection.pack_commands(commands))
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except rx.ResponseError as exc:  # read whole: the next reply follows
                    replies.append(exc)
            ok = True
        except _LOST:
            lost = True
            raise
        finally:
            # cancelled mid-wait, the reply would come later: _give disconnects it
            await self._give(client, connection, ok, lost)
        return replies

    async def _unregister_waiter(self, client: _Client) -> None:
        """Leave the waiting sets (best effort: a lapsed entry is dropped by the next
        waiter anyway)."""
        k = self.keys
        try:
            async with asyncio.timeout(1.0):
                for signal in self._registered:
                    waiting = k.waiting_queued if signal == "queued" else k.waiting_delayed
                    await client.zrem(waiting, self._waiter)
        except (rx.RedisError, rx.RedisClusterException, OSError):
            pass
        self._registered.clear()

    # --------------------------------------------------------------- delayed
    @_mapped
    async def push_delayed(self, payload: str, at: float) -> bool:
        k = self.keys
        ts = _whole_second(at)
        reply = await self._script(
            "push_delayed",
            [
                k.timestamps(payload),
                k.delayed(ts),
                k.delayed_schedule,
                k.delayed_precise,
                k.notify_delayed,
                k.waiting_delayed,
            ],
            [
                ts,
                k.timestamps_member(ts),
                payload,
                _precise_arg(at, ts),
                k.precise_member(ts, payload),
            ],
        )
        return int(reply) == 1

    async def _schedule(self) -> list[str]:
        """Every schedule member (timestamps as Redis holds them), ascending."""
        return cast("list[str]", await self._redis().zrange(self.keys.delayed_schedule, 0, -1))

    @_mapped
    async def timestamps(self) -> list[int]:
        # node-resque lists the delayed:* keys instead; both agree when the data is
        # consistent, and the schedule is what every scheduler reads. Entries whose list
        # is gone (node-resque's delDelayed leaves them) are not reported.
        members = await self._schedule()
        if not members:
            return []
        exists = await self._read(("exists", [self.keys.delayed(m)]) for m in members)
        found = (_int(m) for m, n in zip(members, exists, strict=True) if n)
        return sorted({ts for ts in found if ts is not None})

    @_mapped
    async def delayed_at(self, timestamp: int) -> list[str]:
        return await self._lrange(self.keys.delayed(timestamp), 0, -1)

    @_mapped
    async def delayed_count(self) -> int:
        members = await self._schedule()
        if not members:
            return 0
        lengths = await self._read(("llen", [self.keys.delayed(m)]) for m in members)
        return sum(int(n) for n in lengths)

    @_mapped
    async def scheduled_at(self, payload: str) -> list[int]:
        members = await self._smembers(self.keys.timestamps(payload))
        return sorted({ts for ts in map(_timestamp_of, members) if ts is not None})

    def _unschedule_call(
        self, member: str, payloads: Iterable[str]
    ) -> tuple[str, list[str], list[str]]:
        k = self.keys
        keys = [k.delayed(member), k.delayed_schedule, k.delayed_precise]
        args = [member, k.timestamps_member(member)]
        for payload in payloads:
            keys.append(k.timestamps(payload))
            args += [payload, k.precise_member(member, payload)]
        return "unschedule", keys, args

    @_mapped
    async def remove_delayed(self, payload: str) -> list[int]:
        members = await self._smembers(self.keys.timestamps(payload))
        stamps = sorted({m.partition(":")[2] for m in members if m.startswith("delayed:")})
        if not stamps:
            return []
        calls = [self._unschedule_call(ts, [payload]) for ts in stamps]
        removed = await self._scripts_batch(calls)
        found = (_int(ts) for ts, n in zip(stamps, removed, strict=True) if int(n) > 0)
        return sorted(ts for ts in found if ts is not None)

    async def _remove_timestamps(self, members: Sequence[str]) -> int:
        """Remove every job filed under the schedule members ``members``."""
        removed = 0
        for _ in range(_PROMOTE_PASSES):
            lists = await self._read(("lrange", [self.keys.delayed(m), 0, -1]) for m in members)
            calls = []
            for member, items in zip(members, lists, strict=True):
                distinct = list(dict.fromkeys(items))
                if not distinct:
                    calls.append(self._unschedule_call(member, []))
                for start in range(0, len(distinct), _SCRIPT_CHUNK):
                    chunk = distinct[start : start + _SCRIPT_CHUNK]
                    calls.append(self._unschedule_call(member, chunk))
            removed += sum(int(n) for n in await self._scripts_batch(calls))
            if not any(lists):
                break
            # jobs filed meanwhile under the same timestamps are removed too
            members = [m for m, items in zip(members, lists, strict=True) if items]
        return removed

    @_mapped
    async def remove_delayed_at(self, timestamp: int) -> int:
        return await self._remove_timestamps([str(timestamp)])

    @_mapped
    async def remove_all_delayed(self) -> int:
        removed = 0
        for _ in range(_PROMOTE_PASSES):
            members = await self._schedule()
            if not members:
                break
            removed += await self._remove_timestamps(members)
        return removed

    @_mapped
    async def next_due(self) -> float | None:
        return await self._next_due()

    async def _next_due(self) -> float | None:
        k = self.keys
        firsts = await self._read(
            [
                ("zrange", [k.delayed_schedule, 0, 0, False, True]),
                ("zrange", [k.delayed_precise, 0, 0, False, True]),
            ]
        )
        scores = [float(score) for first in firsts for _, score in first]
        return min(scores) if scores else None

    async def promote_due(self, now: float, limit: int = 1000) -> int:
        return (await self.promote_round(now, limit)).moved

    @_mapped
    async def promote_round(
        self, now: float, limit: int = 1000, claims: Sequence[ClaimRequest] = ()
    ) -> Promotion:
        """Jobs that a pass read ahead (see :data:`_READ_AHEAD`) and that are due now move
        in one script call, without reading first (the claims ride along: one round
        trip in all); the script answers with the earliest due time left, and only when
        that is due as well (a job filed after the read, one from another client) does a
        full pass follow. After a full pass the claims take a trip of their own."""
        if limit <= 0:
            return Promotion(0, await self._next_due(), tuple(await self._claim_many(claims, now)))
        moved = 0
        claimed: list[Claimed | None] | None = None
        if self._ahead and self._ahead[0][0] <= now:
            moved, following, claimed = await self._promote_ahead(now, limit, claims)
            if following is None or following > now or moved >= limit:
                return Promotion(moved, following, tuple(claimed))
        for _ in range(_PROMOTE_PASSES):
            budget = limit - moved
            count, following = await self._promote_pass(now, budget)
            moved += count
            if count < budget or moved >= limit:
                break  # everything due that the pass saw has moved: no second look
        if claimed is None:
            claimed = await self._claim_many(claims, now)
        return Promotion(moved, following, tuple(claimed))

    async def _promote_ahead(
        self, now: float, limit: int, claims: Sequence[ClaimRequest]
    ) -> tuple[int, float | None, list[Claimed | None]]:
        """Move the read-ahead jobs due at ``now`` (up to ``limit``), then make the
        claims: one round trip."""
        ahead = self._ahead
        count = 0
        while count < min(len(ahead), limit) and ahead[count][0] <= now:
            count += 1
        due, self._ahead = ahead[:count], ahead[count:]
        by_timestamp: dict[str, list[tuple[float, str]]] = {}
        for at, member, payload in due:
            by_timestamp.setdefault(member, []).append((at, payload))
        calls = []
        for member, items in by_timestamp.items():
            for first in range(0, len(items), _SCRIPT_CHUNK):
                part = items[first : first + _SCRIPT_CHUNK]
                payloads = [payload for _, payload in part]
                calls.append(self._promote_call(member, float(member), payloads, now, part[0][0]))
        prefixes: list[list[str]] = []
        if claims:
            keys, args, prefixes = self._claim_many_call(claims, now)
            calls.append(("claim_many", keys, args))
        replies = await self._scripts_batch(calls)
        claimed = _claims(claims, prefixes, replies.pop()) if claims else []
        moved = sum(int(count) for count, _ in replies)
        return moved, _score(replies[-1][1]), claimed

    async def _promote_pass(self, now: float, budget: int) -> tuple[int, float | None]:
        """One full pass of ``promote_round``: how many jobs moved, and the earliest due
        time left as the pass last saw it.

        A timestamp that is due as a whole has its list read (every job in it moves). In
        one that is not, the due jobs are exactly its due precise entries, read with the
        schedule: its list is not read at all (it may be long, and a burst of jobs due
        within one second is promoted in many small passes). The script checks each job
        against the list again either way."""
        k = self.keys
        due_at, due_precise, known, following = await self._read_due(now, budget)
        candidates = sorted(due_at, key=due_at.__getitem__)
        moved = 0
        for start in range(0, len(candidates), _READ_CHUNK):
            if budget <= 0:
                break
            chunk, window = candidates[start : start + _READ_CHUNK], budget
            whole = [m for m in chunk if due_at[m] <= now]
            unread = [m for m in whole if m not in known]
            if unread:
                lists = await self._read(("lrange", [k.delayed(m), 0, window - 1]) for m in unread)
                known.update(zip(unread, lists, strict=True))
            calls = []
            for member in chunk:
                if due_at[member] <= now:
                    items = known[member][:window]
                    chosen = items[: max(budget, 0)]
                    if len(items) < window:
                        # precise entries whose job is no longer filed here: the script tidies
                        chosen += sorted(due_precise.get(member, {}).keys() - set(items))
                    if not chosen and items:
                        continue
                else:
                    chosen = list(due_precise.get(member, {}))[: max(budget, 0)]
                    if not chosen:
                        continue  # nothing due yet at this timestamp
                budget -= len(chosen)
                for first in range(0, max(len(chosen), 1), _SCRIPT_CHUNK):
                    part = chosen[first : first + _SCRIPT_CHUNK]
                    calls.append(self._promote_call(member, due_at[member], part, now))
            if calls:
                replies = await self._scripts_batch(calls)
                moved += sum(int(count) for count, _ in replies)
                following = _score(replies[-1][1])
        return moved, following

    async def _read_due(
        self, now: float, budget: int
    ) -> tuple[dict[str, float], dict[str, dict[str, None]], dict[str, list[str]], float | None]:
        """The read of a full promotion pass, one round trip: the candidate timestamps
        (with their due times), the due precise entries by timestamp, the list of the
        second that just passed (read on a guess: it is the usual one due as a whole),
        and the earliest due time. The precise entries due in the next
        :data:`_READ_AHEAD` seconds are read in the same trip and kept for the next
        round (:attr:`_ahead`)."""
        k = self.keys
        guess = str(_whole_second(now) - 1)
        schedule, precise, guessed, first_scheduled, first_precise = await self._read(
            [
                # a timestamp ts holds jobs due in (ts - 1, ts]: candidates are ts < now + 1
                ("zrangebyscore", [k.delayed_schedule, "-inf", f"({now + 1!r}", 0, budget, True]),
                ("zrangebyscore",
                 [k.delayed_precise, "-inf", repr(now + _READ_AHEAD), 0, budget, True]),
                ("lrange", [k.delayed(guess), 0, budget - 1]),
                ("zrange", [k.delayed_schedule, 0, 0, False, True]),
                ("zrange", [k.delayed_precise, 0, 0, False, True]),
            ]
        )  # fmt: skip
        due_at: dict[str, float] = dict(schedule)
        due_precise: dict[str, dict[str, None]] = {}  # in precise-time order
        ahead: list[tuple[float, str, str]] = []
        for member, score in precise:
            ts, payload = k.split_precise_member(member)
            if score > now:
                if _int(ts) is not None:
                    ahead.append((score, ts, payload))
                continue
            due_precise.setdefault(ts, {})[payload] = None
            if ts not in due_at and _int(ts) is not None:
                due_at[ts] = float(ts)  # a stale entry (its timestamp is gone): tidy it
        self._ahead = ahead
        following = min(
            (score for first in (first_scheduled, first_precise) for _, score in first),
            default=None,
        )
        return due_at, due_precise, {guess: guessed}, following

    def _promote_call(
        self,
        member: str,
        due_at: float,
        payloads: Sequence[str],
        now: float,
        guard: float | None = None,
    ) -> tuple[str, list[str], list[str]]:
        k = self.keys
        keys = [k.delayed(member), k.delayed_schedule, k.delayed_precise, k.queues]
        args = [member, k.timestamps_member(member), repr(float(now)), repr(due_at),
                "" if guard is None else repr(guard)]  # fmt: skip
        for payload in payloads:
            queue = _queue_of(payload)
            keys += [k.queue(queue), k.timestamps(payload)]
            args += [payload, queue, k.precise_member(member, payload)]
        keys += [k.notify_queued, k.waiting_queued]
        return "promote", keys, args

    # --------------------------------------------------------------- workers
    @_mapped
    async def register_worker(self, name: str, queues: str, now: float) -> None:
        k = self.keys
        await self._script(
            "register_worker",
            [k.workers, k.worker_started(name, queues), k.worker_ping(name)],
            [
                k.worker_id(name, queues),
                math.floor(now + 0.5),  # node-resque: Math.round(ms / 1000)
                codec.encode_ping(name, queues, now),
            ],
        )

    @_mapped
    async def ping_worker(self, name: str, queues: str, now: float) -> None:
        await self._redis().set(self.keys.worker_ping(name), codec.encode_ping(name, queues, now))

    def _worker_owned(self, name: str, queues: str) -> list[str]:
        k = self.keys
        return [
            k.worker(name, queues),
            k.worker_started(name, queues),
            k.worker_ping(name),
            k.worker_stat("processed", name),
            k.worker_stat("failed", name),
        ]

    @_mapped
    async def unregister_worker(self, name: str, queues: str) -> None:
        k = self.keys
        await self._script(
            "unregister_worker",
            [k.workers, *self._worker_owned(name, queues), k.working],
            [k.worker_id(name, queues)],
        )

    async def _worker_ids(self) -> list[str]:
        return sorted(await self._smembers(self.keys.workers))

    @_mapped
    async def workers(self) -> dict[str, str]:
        return dict(map(_split_worker_id, await self._worker_ids()))

    @_mapped
    async def worker_records(self) -> list[WorkerRecord]:
        k = self.keys
        ids = await self._worker_ids()
        if not ids:
            return []
        names = [_split_worker_id(worker_id) for worker_id in ids]
        commands: list[tuple[str, Sequence[Any]]] = []
        for worker_id, (name, queues) in zip(ids, names, strict=True):
            commands += [
                ("get", [k.worker_started(name, queues)]),
                ("get", [k.worker_ping(name)]),
                ("get", [k.worker_by_id(worker_id)]),
            ]
        values = await self._read(commands)
        return [
            WorkerRecord(
                name=name,
                queues=queues,
                started=_started_of(values[3 * i]),
                ping=_ping_of(values[3 * i + 1]),
                working_on=values[3 * i + 2],
            )
            for i, (name, queues) in enumerate(names)
        ]

    @_mapped
    async def working_on(self, name: str, queues: str) -> str | None:
        value = await self._redis().get(self.keys.worker(name, queues))
        return None if value is None else str(value)

    async def _dead_holders(self, registered: Sequence[str], working: Sequence[str]) -> set[str]:
        """Ids of ``stellar:working`` whose working-on record no live worker holds: not
        registered and no ping key. node-resque's forceCleanWorker leaves exactly that
        behind (it unregisters a worker and deletes its ping, not its record); such a
        record must not pass for a running copy of a periodic task for ever. A live
        worker pings again within its ping interval, and then counts again."""
        unregistered = sorted(set(working) - set(registered))
        if not unregistered:
            return set()
        pings = [self.keys.worker_ping(_split_worker_id(i)[0]) for i in unregistered]
        alive = await self._read(("exists", [key]) for key in pings)
        return {i for i, n in zip(unregistered, alive, strict=True) if not n}

    async def _ensure_block(
        self, task: str, queue: str, payload: str, at: float
    ) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of an ensure block (lua/_ensure.lua), reading both worker sets."""
        k = self.keys
        registered, working = await self._read(
            [("smembers", [k.workers]), ("smembers", [k.working])]
        )
        registered, working = sorted(registered), sorted(working)
        every = sorted({*registered, *working} - await self._dead_holders(registered, working))
        ts = _whole_second(at)
        keys = [
            k.recurrent_stopped,
            k.queue(queue),
            k.timestamps(payload),
            k.delayed(ts),
            k.delayed_schedule,
            k.delayed_precise,
            k.workers,
            k.working,
            *map(k.worker_by_id, every),
        ]
        args: list[Any] = [
            task,
            payload,
            ts,
            k.timestamps_member(ts),
            _precise_arg(at, ts),
            k.precise_member(ts, payload),
            len(registered),
            len(working),
            len(every),
            *registered,
            *working,
        ]
        return keys, args

    @_mapped
    async def finish(
        self,
        name: str,
        queues: str,
        *,
        failure: str | None = None,
        reschedule: tuple[str, str, str, float] | None = None,
        discard: bool = False,
    ) -> None:
        k = self.keys
        keys = [
            k.worker(name, queues),
            k.stat("processed"),
            k.worker_stat("processed", name),
            k.stat("failed"),
            k.worker_stat("failed", name),
            k.failed,
            k.working,
        ]
        if discard:
            mode, failure, reschedule = "discard", None, None
        else:
            mode = "ok" if failure is None else "fail"
        args: list[Any] = [mode, failure or "", k.worker_id(name, queues)]
        if reschedule is None:
            await self._script("finish", keys, [*args, "0"])
            return
        for _ in range(_ENSURE_ATTEMPTS):
            block_keys, block_args = await self._ensure_block(*reschedule)
            reply = await self._script("finish", keys + block_keys, [*args, "1", *block_args])
            if int(reply) != -1:
                return
        raise BackendError(f"redis at {self._where}: the workers kept changing; job not settled")

    @_mapped
    async def finish_many(self, settlements: Sequence[Settlement]) -> None:
        if settlements:
            await self._script("finish_many", *self._finish_many_call(settlements))

    @_mapped
    async def finish_and_claim(
        self, settlements: Sequence[Settlement], requests: Sequence[ClaimRequest], now: float
    ) -> list[Claimed | None]:
        """Both scripts in one write on one connection: Redis runs them in order."""
        calls: list[tuple[str, Sequence[str], Sequence[Any]]] = []
        if settlements:
            calls.append(("finish_many", *self._finish_many_call(settlements)))
        if not requests:
            await self._scripts_batch(calls)
            return []
        keys, args, prefixes = self._claim_many_call(requests, now)
        calls.append(("claim_many", keys, args))
        replies = await self._scripts_batch(calls)
        return _claims(requests, prefixes, replies[-1])

    def _finish_many_call(self, settlements: Sequence[Settlement]) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of lua/finish_many.lua."""
        k = self.keys
        keys = [k.stat("processed"), k.stat("failed"), k.failed, k.working]
        args: list[Any] = []
        for item in settlements:
            name, queues = item.worker, item.worker_queues
            keys += [
                k.worker(name, queues),
                k.worker_stat("processed", name),
                k.worker_stat("failed", name),
            ]
            mode = "discard" if item.discard else "ok" if item.failure is None else "fail"
            failure = "" if item.discard else item.failure or ""
            args += [mode, failure, k.worker_id(name, queues)]
        return keys, args

    @_mapped
    async def release(self, name: str, queues: str, expected: str) -> bool:
        k = self.keys
        queue, payload = _record_job(expected)
        queue = queue or FALLBACK_QUEUE  # a record that names no queue: never lose the job
        reply = await self._script(
            "release",
            [
                k.worker(name, queues),
                k.queue(queue),
                k.queues,
                k.working,
                k.notify_queued,
                k.waiting_queued,
            ],
            [expected, payload, queue, k.worker_id(name, queues)],
        )
        return int(reply) == 1

    @_mapped
    async def clean_worker(
        self,
        name: str,
        queues: str,
        *,
        expected: str | None,
        failure: str | None = None,
        requeue: tuple[str, str] | None = None,
    ) -> bool:
        k = self.keys
        keys = [
            k.workers,
            *self._worker_owned(name, queues),
            k.stat("failed"),
            k.failed,
            k.working,
        ]
        if requeue is not None:
            keys += [k.queue(requeue[0]), k.queues]
        reply = await self._script(
            "clean_worker",
            keys,
            [
                k.worker_id(name, queues),
                "0" if expected is None else "1",
                expected or "",
                "0" if failure is None else "1",
                failure or "",
                "0" if requeue is None else "1",
                *(requeue or ("", "")),
            ],
        )
        return int(reply) == 1

    # ---------------------------------------------------------------- failed
    @_mapped
    async def failed_count(self) -> int:
        return int(await self._redis().llen(self.keys.failed))

    @_mapped
    async def failed(self, start: int = 0, stop: int = -1) -> list[str]:
        return await self._lrange(self.keys.failed, start, stop)

    @_mapped
    async def remove_failed(self, record: str) -> int:
        return int(await self._redis().lrem(self.keys.failed, 1, record))

    @_mapped
    async def retry_failed(self, record: str, queue: str, payload: str) -> bool:
        k = self.keys
        reply = await self._script(
            "retry_failed",
            [k.failed, k.queues, k.queue(queue), k.notify_queued, k.waiting_queued],
            [record, queue, payload],
        )
        return int(reply) == 1

    # ------------------------------------------------------- stats and locks
    async def _scan(self, pattern: str) -> list[str]:
        return [key async for key in self._redis().scan_iter(match=pattern, count=1000)]

    async def _values(self, keys: Sequence[str]) -> list[str | None]:
        values: list[str | None] = []
        for start in range(0, len(keys), 1000):
            values += cast("list[str | None]", await self._redis().mget(keys[start : start + 1000]))
        return values

    @_mapped
    async def stats(self) -> dict[str, int]:
        k = self.keys
        keys = sorted(await self._scan(k.stat_pattern))
        stats: dict[str, int] = {}
        for key, value in zip(keys, await self._values(keys), strict=True):
            number = _int(value)
            if number is not None:
                stats[k.relative(key).removeprefix("stat:")] = number
        return stats

    @_mapped
    async def incr_stats(self, deltas: Mapping[str, int]) -> None:
        changes = {name: delta for name, delta in deltas.items() if delta}
        if changes:
            await self._script(
                "incr_stats", [self.keys.stat(name) for name in changes], list(changes.values())
            )

    @_mapped
    async def locks(self) -> dict[str, str]:
        k = self.keys
        keys = sorted({key for pattern in k.lock_patterns for key in await self._scan(pattern)})
        return {
            k.relative(key): value
            for key, value in zip(keys, await self._values(keys), strict=True)
            if value is not None
        }

    @_mapped
    async def acquire_lock(self, key: str, value: str, ttl: float) -> bool:
        return bool(await self._redis().set(self.keys.lock(key), value, px=_ms(ttl), nx=True))

    @_mapped
    async def get_lock(self, key: str) -> str | None:
        value = await self._redis().get(self.keys.lock(key))
        return None if value is None else str(value)

    @_mapped
    async def set_lock(self, key: str, value: str, ttl: float) -> None:
        await self._redis().set(self.keys.lock(key), value, px=_ms(ttl))

    @_mapped
    async def delete_lock(self, key: str) -> bool:
        return bool(await self._redis().delete(self.keys.lock(key)))

    # ---------------------------------------------------------------- leader
    @_mapped
    async def acquire_leader(self, name: str, ttl: float) -> bool:
        reply = await self._script("acquire_leader", [self.keys.leader], [name, _ms(ttl)])
        return int(reply) == 1

    @_mapped
    async def release_leader(self, name: str) -> bool:
        return int(await self._script("release_leader", [self.keys.leader], [name])) == 1

    @_mapped
    async def leader(self) -> str | None:
        value = await self._redis().get(self.keys.leader)
        return None if value is None else str(value)

    # ------------------------------------------------------------- recurrent
    @_mapped
    async def ensure_delayed(self, task: str, queue: str, payload: str, at: float) -> bool:
        for _ in range(_ENSURE_ATTEMPTS):
            keys, args = await self._ensure_block(task, queue, payload, at)
            reply = int(await self._script("ensure_delayed", keys, args))
            if reply != -1:
                return reply == 1
        raise BackendError(f"redis at {self._where}: the workers kept changing; nothing seeded")

    @_mapped
    async def stop_recurrent(self, task: str) -> None:
        await self._redis().sadd(self.keys.recurrent_stopped, task)

    @_mapped
    async def start_recurrent(self, task: str) -> None:
        await self._redis().srem(self.keys.recurrent_stopped, task)

    @_mapped
    async def stopped_recurrent(self) -> set[str]:
        return await self._smembers(self.keys.recurrent_stopped)
