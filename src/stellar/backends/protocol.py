"""The backend contract: Resque's concepts, nothing above them.

Every payload is the exact job JSON text produced by :mod:`stellar.codec`; backends store
and compare these strings verbatim and never parse or re-encode them (except where a
docstring says so). Times are unix seconds. Delayed timestamps are whole seconds: a job
pushed for ``at`` is filed under ``ceil(at)`` so that it never starts early; ``at`` itself
may be kept as a precise index beside Resque's keys.

Both :class:`~stellar.backends.sqlite.SqliteBackend` and
:class:`~stellar.backends.redis.RedisBackend` implement every method with the same results;
``tests/contract`` proves it. Any failure to reach the storage raises
:class:`~stellar.errors.BackendUnavailable`; other storage failures raise
:class:`~stellar.errors.BackendError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class Claimed:
    """A job a worker took from ``queue``; its working-on record is ``record``."""

    queue: str
    payload: str
    record: str


@dataclass(frozen=True)
class ClaimRequest:
    """One worker asking :meth:`Backend.claim_many` for a job from ``queues`` (in order)."""

    worker: str
    worker_queues: str
    queues: tuple[str, ...]


@dataclass(frozen=True)
class Settlement:
    """One worker's job settled by :meth:`Backend.finish_many`: success (``failure`` None),
    failure (``failure`` is the failed record) or ``discard`` (a plugin vetoed it)."""

    worker: str
    worker_queues: str
    failure: str | None = None
    discard: bool = False


@dataclass(frozen=True)
class Promotion:
    """What one :meth:`Backend.promote_round` did: how many delayed jobs ``moved`` to their
    queues, ``next_due``, the earliest due time of the delayed jobs left as the same
    step saw it (None: none left; a job filed after that may be due sooner), and the
    ``claimed`` jobs of the round's claim requests (one per request, in order)."""

    moved: int
    next_due: float | None
    claimed: tuple[Claimed | None, ...] = ()


Signal = Literal["queued", "delayed"]
"""What :meth:`Backend.wait_for` waits for: ``queued`` (a job may have become ready in a
queue) or ``delayed`` (a delayed job was filed that may be due before every other)."""


@dataclass(frozen=True)
class WorkerRecord:
    """Raw registration data of one worker, as stored."""

    name: str
    queues: str
    started: float | None
    ping: float | None
    working_on: str | None


@runtime_checkable
class Backend(Protocol):
    """Storage for queues, delayed jobs, workers, failures, stats and locks."""

    url: str
    namespace: str

    async def aclose(self) -> None:
        """Release connections. Idempotent."""

    async def check(self) -> None:
        """Round trip to the storage; raises ``BackendUnavailable`` when it does not answer."""

    # ----------------------------------------------------------------- queues
    async def push(self, queue: str, payloads: Sequence[str]) -> None:
        """Register ``queue`` and append ``payloads`` to its tail, in order, in one step."""

    async def queues(self) -> list[str]:
        """Names of all known queues, sorted."""

    async def length(self, queue: str) -> int:
        """Number of jobs waiting in ``queue``."""

    async def queued(self, queue: str, start: int = 0, stop: int = -1) -> list[str]:
        """Payloads of ``queue`` from ``start`` to ``stop`` inclusive (negative: from the end)."""

    async def remove(self, queue: str, payload: str, count: int = 0) -> int:
        """Remove jobs equal to ``payload``: all (0), the first ``count`` (> 0) or the last
        ``-count`` (< 0). Returns how many were removed."""

    async def delete_queue(self, queue: str) -> int:
        """Drop ``queue`` and its jobs (not its delayed ones). Returns the jobs removed."""

    async def claim(
        self, queues: Sequence[str], worker: str, worker_queues: str, now: float
    ) -> Claimed | None:
        """Take the head job of the first non-empty queue of ``queues`` and, in the same
        atomic step, store the worker's working-on record (``codec.encode_working_on``)."""

    async def claim_many(
        self, requests: Sequence[ClaimRequest], now: float
    ) -> list[Claimed | None]:
        """``claim`` for several workers in one atomic step (one round trip where the
        storage has them), in the order given: the answer at index ``i`` is the job the
        worker of ``requests[i]`` took, or None when its queues were empty."""

    async def wait_for(self, signal: Signal, timeout: float) -> str | None:
        """Wait at most ``timeout`` seconds for ``signal`` from any process sharing the
        storage. None at the timeout; when it came, the name of the queue it concerns, or
        ``""`` when the backend cannot tell. Wake-ups may be spurious: callers look again.

        ``queued``: a push, a release, a retry or a promotion put a job in a queue.
        ``delayed``: ``push_delayed`` filed a job due before every job delayed until then.
        Signals are only given (and kept, one of each kind, for the next wait) once some
        process waited; the first wait may therefore answer at once. Jobs written by
        other Resque clients give no signal."""

    async def wait_and_claim(
        self, requests: Sequence[ClaimRequest], now: float, timeout: float
    ) -> tuple[str | None, list[Claimed | None]]:
        """``wait_for("queued", timeout)``, then ``claim_many(requests, now)`` whatever
        the wait gave: the signal (or None) and the claims. One round trip where the
        storage allows it: an idle worker's poll that answers the moment a job arrives.
        ``now`` (the working-on records' ``run_at``) is when the wait began."""

    # ---------------------------------------------------------------- delayed
    async def push_delayed(self, payload: str, at: float) -> bool:
        """File ``payload`` under the timestamp ``ceil(at)``. Returns False (and writes
        nothing) when the same payload is already filed under that timestamp."""

    async def timestamps(self) -> list[int]:
        """Timestamps that hold delayed jobs, ascending."""

    async def delayed_at(self, timestamp: int) -> list[str]:
        """Payloads filed under ``timestamp``, in order."""

    async def delayed_count(self) -> int:
        """Number of delayed jobs in all."""

    async def scheduled_at(self, payload: str) -> list[int]:
        """Timestamps under which ``payload`` is filed, ascending."""

    async def remove_delayed(self, payload: str) -> list[int]:
        """Remove every delayed copy of ``payload``; returns the timestamps it left."""

    async def remove_delayed_at(self, timestamp: int) -> int:
        """Remove every job filed under ``timestamp``; returns how many."""

    async def remove_all_delayed(self) -> int:
        """Remove every delayed job; returns how many."""

    async def next_due(self) -> float | None:
        """The earliest time a delayed job is due, or None when nothing is delayed."""

    async def promote_due(self, now: float, limit: int = 1000) -> int:
        """Move up to ``limit`` delayed jobs due at ``now`` to the tail of their queues.

        A job is due when its precise time (if the backend kept one) or else its
        timestamp is ``<= now``. Each job moves atomically: it is never lost nor doubled.
        Returns how many moved."""

    async def promote_round(
        self, now: float, limit: int = 1000, claims: Sequence[ClaimRequest] = ()
    ) -> Promotion:
        """:meth:`promote_due`, and :meth:`next_due` as seen at the end of the same step:
        one scheduler round. A backend may read ahead (jobs due in the next moments, with
        their queues) so that the round that moves them at their due time is one call.

        ``claims``: then :meth:`claim_many` for these workers, in the same round trip
        where the storage allows it (idle workers of the scheduler's process take the
        jobs just moved without a trip of their own). A failure may leave the jobs moved
        and the claims made."""

    # ---------------------------------------------------------------- workers
    async def register_worker(self, name: str, queues: str, now: float) -> None:
        """Add the worker to the workers set, record its start time and a first ping."""

    async def ping_worker(self, name: str, queues: str, now: float) -> None:
        """Record that the worker is alive at ``now``."""

    async def unregister_worker(self, name: str, queues: str) -> None:
        """Remove the worker and everything it owns (working-on, started, ping, its stats)."""

    async def workers(self) -> dict[str, str]:
        """Registered workers: ``{name: queues}``."""

    async def worker_records(self) -> list[WorkerRecord]:
        """Every registered worker with its start time, last ping and working-on record."""

    async def working_on(self, name: str, queues: str) -> str | None:
        """The worker's working-on record text, or None when it is idle."""

    async def finish(
        self,
        name: str,
        queues: str,
        *,
        failure: str | None = None,
        reschedule: tuple[str, str, str, float] | None = None,
        discard: bool = False,
    ) -> None:
        """Settle the worker's current job in one atomic step.

        ``discard``: a plugin vetoed the job before it ran: drop the working-on record
        and count nothing (``failure`` and ``reschedule`` are then ignored).

        Success (``failure is None``): increment ``processed`` and the worker's own
        ``processed:<name>``. Failure: append the record ``failure`` to the failed list and
        increment ``failed`` and ``failed:<name>``. Either way the working-on record goes.
        ``reschedule=(task, queue, payload, at)``: then also ``ensure_delayed`` that job."""

    async def finish_many(self, settlements: Sequence[Settlement]) -> None:
        """``finish`` (without ``reschedule``) for several workers in one atomic step,
        with the same effects as calling it for each settlement in order."""

    async def prepare(self, concurrency: int) -> None:
        """Get ready for ``concurrency`` calls at once (a process with that many task
        processors is starting): open now what the first jobs would wait for."""

    async def finish_and_claim(
        self, settlements: Sequence[Settlement], requests: Sequence[ClaimRequest], now: float
    ) -> list[Claimed | None]:
        """:meth:`finish_many` then :meth:`claim_many`, in that order, in one round trip
        (each step atomic on its own): workers that settle their job take their next
        one with it. A failure may leave the settles done and the claims made."""

    async def release(self, name: str, queues: str, expected: str) -> bool:
        """Put the job of working-on record ``expected`` back at the *head* of its queue and
        drop the record. False (and no change) when the record is no longer ``expected``."""

    async def clean_worker(
        self,
        name: str,
        queues: str,
        *,
        expected: str | None,
        failure: str | None = None,
        requeue: tuple[str, str] | None = None,
    ) -> bool:
        """Unregister a dead worker atomically, provided its working-on record is still
        ``expected`` (None: it must be idle); else change nothing and return False.
        ``failure``: append that record to the failed list and count it as failed.
        ``requeue=(queue, payload)``: append that job to its queue instead."""

    # ----------------------------------------------------------------- failed
    async def failed_count(self) -> int:
        """Length of the failed list."""

    async def failed(self, start: int = 0, stop: int = -1) -> list[str]:
        """Failed records from ``start`` to ``stop`` inclusive, oldest first."""

    async def remove_failed(self, record: str) -> int:
        """Remove one failed record equal to ``record``; returns 0 or 1."""

    async def retry_failed(self, record: str, queue: str, payload: str) -> bool:
        """Atomically remove ``record`` from the failed list and append ``payload`` to
        ``queue``. False (and no change) when the record is not in the list."""

    # --------------------------------------------------------- stats and locks
    async def stats(self) -> dict[str, int]:
        """Counters by name without the ``stat:`` prefix (``processed``, ``failed:<w>``...)."""

    async def incr_stats(self, deltas: Mapping[str, int]) -> None:
        """Add each delta to its counter."""

    async def locks(self) -> dict[str, str]:
        """Every ``lock:*`` and ``workerslock:*`` key (without namespace) with its value."""

    async def acquire_lock(self, key: str, value: str, ttl: float) -> bool:
        """Set ``key`` to ``value`` for ``ttl`` seconds unless it exists. True when set."""

    async def get_lock(self, key: str) -> str | None:
        """The lock's value, or None."""

    async def set_lock(self, key: str, value: str, ttl: float) -> None:
        """Overwrite the lock."""

    async def delete_lock(self, key: str) -> bool:
        """Delete the lock; True when it existed."""

    # ----------------------------------------------------------------- leader
    async def acquire_leader(self, name: str, ttl: float) -> bool:
        """Take the scheduler leader lock for ``name`` (or renew it when ``name`` holds it)."""

    async def release_leader(self, name: str) -> bool:
        """Drop the leader lock if ``name`` holds it."""

    async def leader(self) -> str | None:
        """Name of the current leader."""

    # -------------------------------------------------------------- recurrent
    async def ensure_delayed(self, task: str, queue: str, payload: str, at: float) -> bool:
        """Seed one copy of a periodic job, atomically, unless one exists already.

        Does nothing and returns False when ``task`` is stopped, or when ``payload`` is
        queued in ``queue``, or filed under any delayed timestamp, or when any worker's
        working-on record is a job of ``task``. Otherwise ``push_delayed(payload, at)``."""

    async def stop_recurrent(self, task: str) -> None:
        """Mark ``task`` stopped (kept until ``start_recurrent``)."""

    async def start_recurrent(self, task: str) -> None:
        """Clear the stop mark of ``task``."""

    async def stopped_recurrent(self) -> set[str]:
        """Tasks marked stopped."""
