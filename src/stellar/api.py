"""``api.tasks``: enqueue tasks and manage the queues (the seed's management API).

Times are seconds (``int``/``float``, unix time for points in time) or ``datetime`` /
``timedelta``; a naive ``datetime`` is refused because its zone is ambiguous. Every
point in time returned is an aware UTC ``datetime``.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any, Literal

from stellar import codec
from stellar.backends.protocol import Backend
from stellar.clock import SYSTEM_CLOCK, Clock
from stellar.config import Settings
from stellar.errors import (
    DuplicateDelayedJob,
    FailedJobNotFound,
    InvalidParams,
    InvalidTime,
    NotPeriodic,
    PayloadError,
    WorkerNotFound,
)
from stellar.job import BulkResult, Details, FailedJob, Job, QueueInfo, WorkerInfo, WorkingOn
from stellar.maintenance import force_clean_worker
from stellar.plugins.base import PluginContext, run_after, run_before
from stellar.tasks.definition import Task
from stellar.tasks.registry import Registry

PERIODIC_PARAMS: dict[str, Any] = {}


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def to_timestamp(when: datetime | float | int) -> float:
    """Unix seconds of ``when``; refuses naive datetimes and non-numbers."""
    if isinstance(when, datetime):
        if when.tzinfo is None or when.tzinfo.utcoffset(when) is None:
            raise InvalidTime(
                f"naive datetime {when.isoformat()} is ambiguous: give it a time zone "
                "(e.g. datetime.now(UTC))"
            )
        return when.timestamp()
    if isinstance(when, bool) or not isinstance(when, int | float) or not math.isfinite(when):
        raise InvalidTime(f"expected a datetime or unix seconds, got {when!r}")
    return float(when)


def to_seconds(delay: timedelta | float | int) -> float:
    if isinstance(delay, timedelta):
        return delay.total_seconds()
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not math.isfinite(delay):
        raise InvalidTime(f"expected a delay in seconds or a timedelta, got {delay!r}")
    return float(delay)


def lenient_job(payload: str, queue: str) -> Job:
    """Decode for listings: an unreadable payload shows as a job with an empty task."""
    try:
        return codec.decode_job(payload, queue)
    except PayloadError:
        return Job(task="", queue=queue, args=(), payload=payload)


def failed_id(job: FailedJob) -> str:
    """A short fingerprint of a failed record's exact text (8 hex digits).

    With the record's index it names one failed job on the command line (``3:9f2c1a7e``):
    the index finds it, the fingerprint proves it is still the same record.
    """
    raw = job.raw.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(raw, digest_size=4).hexdigest()


def failed_queue(job: FailedJob) -> str:
    """The queue a retried failed job goes back to: its payload's, else the record's."""
    if job.job is not None and job.job.queue:
        return job.job.queue
    return job.queue


@dataclass(frozen=True)
class FailedFilter:
    """Which failed jobs a bulk operation touches.

    Every field given must match; a field may use shell wildcards (``email.*``) and is
    compared case-sensitively. ``task`` is the job's task, ``queue`` the queue it failed in,
    ``exception`` the error's type name (``ValueError``). No field: every failed job.
    """

    task: str | None = None
    queue: str | None = None
    exception: str | None = None

    def __call__(self, job: FailedJob) -> bool:
        if self.task is not None and (job.job is None or not fnmatchcase(job.job.task, self.task)):
            return False
        if self.queue is not None and not fnmatchcase(failed_queue(job), self.queue):
            return False
        return self.exception is None or fnmatchcase(job.exception, self.exception)


Where = FailedFilter | Callable[[FailedJob], bool] | None
"""A filter of failed jobs: a :class:`FailedFilter`, any predicate, or None (all)."""

Progress = Callable[[int, int], None]
"""Called as ``progress(examined, total)`` while a bulk operation goes through the list."""

LOCK_PREFIXES = ("lock:", "workerslock:")
_Outcome = Literal["done", "kept", "missing"]
FAILED_PAGE = 500


@dataclass(frozen=True)
class Api:
    """What a task's ``run(api, params)`` receives."""

    tasks: Tasks
    log: logging.Logger | logging.LoggerAdapter[logging.Logger]
    config: Settings


class Tasks:
    """The task API of one application (``app.api.tasks``)."""

    def __init__(
        self,
        backend: Backend,
        registry: Registry,
        *,
        clock: Clock = SYSTEM_CLOCK,
        name: str = "stellar",
    ) -> None:
        self.backend = backend
        self.registry = registry
        self.clock = clock
        self.name = name
        #: called with a queue name after each push (in-process workers wake up at once)
        self.on_push: list[Callable[[str], None]] = []

    # ------------------------------------------------------------ enqueueing
    def _encode(self, task: str, params: Any, queue: str | None) -> tuple[Task, Job]:
        definition, target, payload = self._payload(task, params, queue)
        params = {} if params is None else params
        return definition, Job(task=task, queue=target, args=(params,), payload=payload)

    def _payload(self, task: str, params: Any, queue: str | None) -> tuple[Task, str, str]:
        """The task's definition, the target queue and the job text (params checked)."""
        definition = self.registry.get(task)
        params = {} if params is None else params
        target = queue if queue is not None else definition.queue
        if not isinstance(target, str) or not target:
            codec.check_params(params)  # a bad params is reported first, as always
            raise InvalidParams(f"queue must be a non-empty string, got {target!r}")
        return definition, target, codec.encode_params_job(task, target, params)

    def _notify(self, queue: str) -> None:
        for callback in self.on_push:
            callback(queue)

    async def enqueue(self, task: str, params: Any = None, *, queue: str | None = None) -> bool:
        """Queue ``task`` to run as soon as a worker is free. False: a plugin vetoed it."""
        definition, target, payload = self._payload(task, params, queue)
        if not definition.plugins:  # the common case: nothing to run around the push
            await self.backend.push(target, [payload])
            self._notify(target)
            return True
        args = ({} if params is None else params,)
        job = Job(task=task, queue=target, args=args, payload=payload)
        ctx = PluginContext(job=job, backend=self.backend, clock=self.clock)
        if not await run_before(definition.plugins, "enqueue", ctx):
            return False
        await self.backend.push(job.queue, [job.payload])
        self._notify(job.queue)
        await run_after(definition.plugins, "enqueue", ctx)
        return True

    async def enqueue_many(
        self, task: str, params_list: Iterable[Any], *, queue: str | None = None
    ) -> int:
        """Queue one job per params in one round trip. Returns how many were queued
        (plugins may veto some)."""
        params_list = list(params_list)
        if not params_list:
            return 0
        definition = self.registry.get(task)
        if not definition.plugins:  # the common case: payloads only, no Job records
            payloads = [self._payload(task, params, queue) for params in params_list]
            await self.backend.push(payloads[0][1], [payload for _, _, payload in payloads])
            self._notify(payloads[0][1])
            return len(payloads)
        jobs = [self._encode(task, params, queue) for params in params_list]
        accepted: list[Job] = []
        for _, job in jobs:
            ctx = PluginContext(job=job, backend=self.backend, clock=self.clock)
            if await run_before(definition.plugins, "enqueue", ctx):
                accepted.append(job)
        if accepted:
            await self.backend.push(accepted[0].queue, [job.payload for job in accepted])
            self._notify(accepted[0].queue)
        for job in accepted:
            ctx = PluginContext(job=job, backend=self.backend, clock=self.clock)
            await run_after(definition.plugins, "enqueue", ctx)
        return len(accepted)

    async def enqueue_at(
        self, when: datetime | float, task: str, params: Any = None, *, queue: str | None = None
    ) -> datetime:
        """Run ``task`` at ``when`` (never before). A time in the past runs at once.
        Returns the time it will run. Raises ``DuplicateDelayedJob`` when the same task,
        queue and params are already delayed in the same whole second (Resque files delayed
        jobs by whole second, rounded up)."""
        at = to_timestamp(when)
        _, job = self._encode(task, params, queue)
        if not await self.backend.push_delayed(job.payload, at):
            raise DuplicateDelayedJob(
                f"{task} with these params is already delayed at {utc(math.ceil(at))} "
                f"in queue {job.queue!r}"
            )
        return utc(at)

    async def enqueue_in(
        self, delay: timedelta | float, task: str, params: Any = None, *, queue: str | None = None
    ) -> datetime:
        """Run ``task`` after ``delay`` seconds (or a timedelta)."""
        return await self.enqueue_at(
            self.clock.time() + to_seconds(delay), task, params, queue=queue
        )

    # --------------------------------------------------------------- queues
    async def queues(self) -> list[str]:
        return await self.backend.queues()

    async def length(self, queue: str) -> int:
        return await self.backend.length(queue)

    async def queued(self, queue: str, start: int = 0, stop: int = -1) -> list[Job]:
        return [lenient_job(p, queue) for p in await self.backend.queued(queue, start, stop)]

    @staticmethod
    def _match(queue: str, task: str, params: Any) -> str:
        """The exact job text that ``enqueue(task, params, queue=queue)`` writes: Resque
        matches jobs on it (so params match as JSON text, key order included)."""
        if not isinstance(queue, str) or not queue:
            raise InvalidParams(f"queue must be a non-empty string, got {queue!r}")
        if not isinstance(task, str) or not task:
            raise InvalidParams(f"task must be a non-empty string, got {task!r}")
        params = {} if params is None else params
        codec.check_params(params)
        return codec.encode_job(task, queue, [params])

    async def delete(self, queue: str, task: str, params: Any = None, count: int = 0) -> int:
        """Remove queued jobs of ``task`` whose params are exactly ``params`` (default
        ``{}``): all (count 0), the first ``count`` or, negative, the last ``-count``.
        Returns how many were removed. The task need not be registered here."""
        if isinstance(count, bool) or not isinstance(count, int):
            raise InvalidParams(f"count must be an integer, got {count!r}")
        return await self.backend.remove(queue, self._match(queue, task, params), count)

    async def delete_queue(self, queue: str) -> int:
        """Drop ``queue`` and its waiting jobs (not its delayed ones). Returns how many
        jobs were removed."""
        return await self.backend.delete_queue(queue)

    # -------------------------------------------------------------- delayed
    async def delete_delayed(self, queue: str, task: str, params: Any = None) -> list[datetime]:
        """Remove every delayed copy of ``task`` with exactly ``params`` (default ``{}``)
        in ``queue``. Returns the (whole-second) times they were filed under."""
        payload = self._match(queue, task, params)
        return [utc(ts) for ts in await self.backend.remove_delayed(payload)]

    async def scheduled_at(self, queue: str, task: str, params: Any = None) -> list[datetime]:
        """The (whole-second) times at which ``task`` with exactly ``params`` is delayed."""
        payload = self._match(queue, task, params)
        return [utc(ts) for ts in await self.backend.scheduled_at(payload)]

    async def timestamps(self) -> list[datetime]:
        """The whole-second times that hold delayed jobs, ascending."""
        return [utc(ts) for ts in await self.backend.timestamps()]

    async def delayed_at(self, when: datetime | float) -> list[Job]:
        """The jobs filed under the whole second of ``when`` (rounded up, as when they
        were delayed)."""
        ts = math.ceil(to_timestamp(when))
        return [lenient_job(p, "") for p in await self.backend.delayed_at(ts)]

    async def delete_delayed_at(self, when: datetime | float) -> int:
        """Remove every job filed under the whole second of ``when``; returns how many."""
        return await self.backend.remove_delayed_at(math.ceil(to_timestamp(when)))

    async def all_delayed(self) -> dict[datetime, list[Job]]:
        """Every delayed job by time (a listing: nothing is removed)."""
        result: dict[datetime, list[Job]] = {}
        for ts in await self.backend.timestamps():
            jobs = [lenient_job(p, "") for p in await self.backend.delayed_at(ts)]
            if jobs:  # a timestamp emptied meanwhile (promoted, deleted) is left out
                result[utc(ts)] = jobs
        return result

    async def delete_all_delayed(self) -> int:
        """Remove every delayed job (what the seed's text says ``allDelayed`` does)."""
        return await self.backend.remove_all_delayed()

    # ------------------------------------------------------------ recurrent
    def _periodic(self, task: str) -> Task:
        definition = self.registry.get(task)
        if not definition.periodic:
            raise NotPeriodic(f"task {task!r} has no frequency: it is not a periodic task")
        return definition

    def periodic_payload(self, definition: Task) -> str:
        return codec.encode_job(definition.name, definition.queue, [PERIODIC_PARAMS])

    async def enqueue_recurrent(self, task: str) -> bool:
        """Clear a stop of the periodic ``task`` and seed its one copy, due now, unless a
        copy exists already. True when a copy was seeded."""
        definition = self._periodic(task)
        await self.backend.start_recurrent(task)
        payload = self.periodic_payload(definition)
        seeded = await self.backend.ensure_delayed(
            task, definition.queue, payload, self.clock.time()
        )
        return seeded

    async def stop_recurrent(self, task: str) -> int:
        """Stop the periodic ``task`` until ``enqueue_recurrent``; removes its queued and
        delayed copies (a running copy finishes and is not rescheduled). Returns how many
        copies were removed."""
        definition = self._periodic(task)
        await self.backend.stop_recurrent(task)
        payload = self.periodic_payload(definition)
        removed = await self.backend.remove(definition.queue, payload, 0)
        return removed + len(await self.backend.remove_delayed(payload))

    async def stopped_recurrent(self) -> set[str]:
        return await self.backend.stopped_recurrent()

    # ----------------------------------------------------- stats and locks
    async def stats(self) -> dict[str, int]:
        return await self.backend.stats()

    async def locks(self) -> dict[str, datetime]:
        """Every lock with the time it expires."""
        result: dict[str, datetime] = {}
        for key, value in (await self.backend.locks()).items():
            try:
                result[key] = utc(float(value))
            except (ValueError, OverflowError):
                result[key] = utc(0)
        return result

    async def delete_lock(self, name: str) -> bool:
        """Delete the lock ``name`` (as ``locks()`` lists it: ``lock:...`` or
        ``workerslock:...``); False when there is no such lock. Other keys are never
        touched (node-resque's ``delLock`` would delete any key of the namespace)."""
        if not isinstance(name, str) or not name.startswith(LOCK_PREFIXES):
            return False
        return await self.backend.delete_lock(name)

    async def leader(self) -> str | None:
        return await self.backend.leader()

    # -------------------------------------------------------------- workers
    async def workers(self) -> list[WorkerInfo]:
        result = []
        for record in await self.backend.worker_records():
            doing = codec.decode_working_on(record.working_on) if record.working_on else None
            result.append(
                WorkerInfo(
                    name=record.name,
                    queues=record.queues,
                    started=utc(record.started) if record.started is not None else None,
                    last_ping=utc(record.ping) if record.ping is not None else None,
                    working_on=doing,
                )
            )
        return sorted(result, key=lambda w: w.name)

    async def working_on(self, name: str, queues: str) -> WorkingOn | None:
        record = await self.backend.working_on(name, queues)
        return codec.decode_working_on(record) if record else None

    async def all_working_on(self) -> dict[str, WorkingOn | None]:
        return {w.name: w.working_on for w in await self.workers()}

    async def force_clean_worker(self, name: str, *, requeue: bool = False) -> FailedJob | None:
        """Unregister ``name`` (which must be dead: this does not stop a process); its job
        goes to the failed list, or back to its queue with ``requeue``."""
        return await force_clean_worker(
            self.backend, name, cleaner=self.name, now=self.clock.time(),
            reason="cleaned through the API", requeue=requeue,
        )  # fmt: skip

    async def clean_old_workers(self, age: timedelta | float) -> dict[str, FailedJob | None]:
        """Clean the workers that gave no sign of life for longer than ``age``.

        A worker's last sign of life is the latest of its last ping, the start of the job
        it works on and its own start. So a worker that keeps pinging is never cleaned,
        however long its job runs; one that never pings (a node-resque 4 worker) is
        cleaned when its job has run longer than ``age``, as node-resque does; an idle
        worker is cleaned too when it is silent (node-resque skips those). Each job goes
        to the failed list. Returns ``{name: failed record, or None for an idle worker}``.
        """
        limit = self.clock.time() - to_seconds(age)
        cleaned: dict[str, FailedJob | None] = {}
        for worker in await self.workers():
            signs = [worker.last_ping, worker.started]
            if worker.working_on is not None:
                signs.append(worker.working_on.run_at)
            seen = [t.timestamp() for t in signs if t is not None]
            if not seen or max(seen) >= limit:
                continue
            since = utc(max(seen)).isoformat()
            try:
                cleaned[worker.name] = await force_clean_worker(
                    self.backend, worker.name, cleaner=self.name, now=self.clock.time(),
                    reason=f"no sign of life since {since}", queues=worker.queues,
                )  # fmt: skip
            except WorkerNotFound:  # unregistered meanwhile (it stopped, or was cleaned)
                continue
        return cleaned

    # --------------------------------------------------------------- failed
    async def failed_count(self) -> int:
        return await self.backend.failed_count()

    async def failed(self, start: int = 0, stop: int = -1) -> list[FailedJob]:
        """Failed records from ``start`` to ``stop`` inclusive, oldest first (negative
        indexes count from the end, as Redis' ``LRANGE``)."""
        return [codec.decode_failure(raw) for raw in await self.backend.failed(start, stop)]

    async def iter_failed(
        self, where: Where = None, *, start: int = 0, page_size: int = FAILED_PAGE
    ) -> AsyncGenerator[tuple[int, FailedJob], None]:
        """``(index, record)`` of every failed job from ``start`` on that ``where``
        accepts, read a page at a time (the list may change meanwhile: indexes are
        those of the moment each page was read)."""
        index = max(start, 0)
        while True:
            page = await self.backend.failed(index, index + page_size - 1)
            for offset, raw in enumerate(page):
                job = codec.decode_failure(raw)
                if where is None or where(job):
                    yield index + offset, job
            if len(page) < page_size:
                return
            index += len(page)

    async def find_failed(self, index: int, id: str | None = None) -> tuple[int, FailedJob]:
        """The failed job at ``index``, checked to be the one whose :func:`failed_id` is
        ``id``. When the list moved (jobs before it were removed), the job is looked for
        by ``id``. Returns ``(its index now, the record)``; raises ``FailedJobNotFound``."""
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise FailedJobNotFound(f"a failed job's index is a number >= 0, not {index!r}")
        page = await self.backend.failed(index, index)
        here = codec.decode_failure(page[0]) if page else None
        if here is not None and (id is None or failed_id(here) == id):
            return index, here
        if id is None:
            count = await self.backend.failed_count()
            raise FailedJobNotFound(
                f"there is no failed job at index {index}: the failed list holds {count}"
            )
        found = [(i, job) async for i, job in self.iter_failed(lambda j: failed_id(j) == id)]
        if not found:
            raise FailedJobNotFound(f"failed job {index}:{id} is no longer in the failed list")
        if len({job.raw for _, job in found}) > 1:
            raise FailedJobNotFound(
                f"failed job {index}:{id} moved and several failed jobs share its id; "
                "list them again"
            )
        return found[0]

    async def remove_failed(self, job: FailedJob) -> bool:
        """Remove one failed record equal to ``job``; False when it is not there."""
        return await self.backend.remove_failed(job.raw) > 0

    async def _retry(self, job: FailedJob) -> _Outcome:
        queue = failed_queue(job)
        if not queue:
            return "kept"
        definition = None
        if job.job is not None and job.job.task in self.registry:
            definition = self.registry.get(job.job.task)
        plugins = definition.plugins if definition is not None else ()
        ctx = None
        if plugins and job.job is not None:
            ctx = PluginContext(job=job.job, backend=self.backend, clock=self.clock)
            if not await run_before(plugins, "enqueue", ctx):
                return "kept"
        if not await self.backend.retry_failed(job.raw, queue, job.payload_text):
            return "missing"
        self._notify(queue)
        if ctx is not None:
            await run_after(plugins, "enqueue", ctx)
        return "done"

    async def retry_and_remove_failed(self, job: FailedJob) -> bool:
        """Put a failed job back at the tail of its queue and remove it from the failed
        list, in one atomic step (the task's enqueue plugins run, as for ``enqueue``).
        False when a plugin vetoed it (it then stays failed). Raises
        ``FailedJobNotFound`` when it is no longer in the failed list, and
        ``PayloadError`` when the record names no queue to put the job back in."""
        outcome = await self._retry(job)
        if outcome == "missing":
            raise FailedJobNotFound("this job is not in the failed list (any more)")
        if outcome == "kept" and not failed_queue(job):
            raise PayloadError("this failed record names no queue to retry its job in", job.raw)
        return outcome == "done"

    async def _bulk(
        self,
        act: Callable[[FailedJob], Awaitable[_Outcome]],
        where: Where,
        progress: Progress | None,
        page_size: int,
    ) -> BulkResult:
        """Go once through the failed list as it was at the start (records appended
        meanwhile, such as retried jobs failing again, are left for the next run), acting
        on each record ``where`` accepts: one page read per ``page_size`` records, one
        round trip per record acted on, never more than a page in memory."""
        if page_size < 1:
            raise InvalidParams(f"page_size must be >= 1, got {page_size!r}")
        total = await self.backend.failed_count()
        cursor = examined = matched = 0
        counts = {"done": 0, "kept": 0, "missing": 0}
        if progress is not None:
            progress(0, total)
        while examined < total:
            page = await self.backend.failed(cursor, cursor + min(page_size, total - examined) - 1)
            if not page:
                break
            for raw in page:
                examined += 1
                job = codec.decode_failure(raw)
                if where is not None and not where(job):
                    cursor += 1
                    continue
                matched += 1
                outcome = await act(job)
                counts[outcome] += 1
                if outcome == "kept":  # still in the list: the next page starts after it
                    cursor += 1
            if progress is not None:
                progress(examined, total)
        return BulkResult(examined=examined, matched=matched, **counts)

    async def retry_all_failed(
        self,
        where: Where = None,
        *,
        progress: Progress | None = None,
        page_size: int = FAILED_PAGE,
    ) -> BulkResult:
        """Retry every failed job ``where`` accepts (all when None), oldest first, each
        as :meth:`retry_and_remove_failed` does. ``progress(examined, total)`` is called
        after each page."""
        return await self._bulk(self._retry, where, progress, page_size)

    async def remove_all_failed(
        self,
        where: Where = None,
        *,
        progress: Progress | None = None,
        page_size: int = FAILED_PAGE,
    ) -> BulkResult:
        """Remove every failed job ``where`` accepts (all when None) from the failed list.
        ``progress(examined, total)`` is called after each page."""

        async def remove(job: FailedJob) -> _Outcome:
            return "done" if await self.backend.remove_failed(job.raw) else "missing"

        return await self._bulk(remove, where, progress, page_size)

    # -------------------------------------------------------------- details
    async def details(self) -> Details:
        names = await self.backend.queues()
        queues = tuple([QueueInfo(q, await self.backend.length(q)) for q in names])
        return Details(
            queues=queues,
            workers=tuple(await self.workers()),
            stats=await self.backend.stats(),
            leader=await self.backend.leader(),
            delayed=await self.backend.delayed_count(),
            failed=await self.backend.failed_count(),
        )
