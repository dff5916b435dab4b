"""``api.tasks``: enqueue tasks and manage the queues (the seed's management API).

Times are seconds (``int``/``float``, unix time for points in time) or ``datetime`` /
``timedelta``; a naive ``datetime`` is refused because its zone is ambiguous. Every
point in time returned is an aware UTC ``datetime``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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
)
from stellar.job import Details, FailedJob, Job, QueueInfo, WorkerInfo, WorkingOn
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
        definition = self.registry.get(task)
        params = {} if params is None else params
        codec.check_params(params)
        target = queue if queue is not None else definition.queue
        if not isinstance(target, str) or not target:
            raise InvalidParams(f"queue must be a non-empty string, got {target!r}")
        payload = codec.encode_job(task, target, [params])
        return definition, Job(task=task, queue=target, args=(params,), payload=payload)

    def _notify(self, queue: str) -> None:
        for callback in self.on_push:
            callback(queue)

    async def enqueue(self, task: str, params: Any = None, *, queue: str | None = None) -> bool:
        """Queue ``task`` to run as soon as a worker is free. False: a plugin vetoed it."""
        definition, job = self._encode(task, params, queue)
        ctx = PluginContext(job=job, backend=self.backend, clock=self.clock)
        if definition.plugins and not await run_before(definition.plugins, "enqueue", ctx):
            return False
        await self.backend.push(job.queue, [job.payload])
        self._notify(job.queue)
        if definition.plugins:
            await run_after(definition.plugins, "enqueue", ctx)
        return True

    async def enqueue_many(
        self, task: str, params_list: Iterable[Any], *, queue: str | None = None
    ) -> int:
        """Queue one job per params in one round trip. Returns how many were queued
        (plugins may veto some)."""
        jobs = [self._encode(task, params, queue) for params in params_list]
        if not jobs:
            return 0
        definition = jobs[0][0]
        accepted: list[Job] = []
        for _, job in jobs:
            ctx = PluginContext(job=job, backend=self.backend, clock=self.clock)
            if not definition.plugins or await run_before(definition.plugins, "enqueue", ctx):
                accepted.append(job)
        if accepted:
            await self.backend.push(accepted[0].queue, [job.payload for job in accepted])
            self._notify(accepted[0].queue)
        for job in accepted if definition.plugins else ():
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

    async def delete(self, queue: str, task: str, params: Any = None, count: int = 0) -> int:
        """Remove queued jobs of ``task`` whose params are exactly ``params`` (default
        ``{}``): all (count 0), the first ``count`` or, negative, the last ``-count``."""
        payload = codec.encode_job(task, queue, [{} if params is None else params])
        return await self.backend.remove(queue, payload, count)

    async def delete_queue(self, queue: str) -> int:
        return await self.backend.delete_queue(queue)

    # -------------------------------------------------------------- delayed
    async def delete_delayed(self, queue: str, task: str, params: Any = None) -> list[datetime]:
        payload = codec.encode_job(task, queue, [{} if params is None else params])
        return [utc(ts) for ts in await self.backend.remove_delayed(payload)]

    async def scheduled_at(self, queue: str, task: str, params: Any = None) -> list[datetime]:
        payload = codec.encode_job(task, queue, [{} if params is None else params])
        return [utc(ts) for ts in await self.backend.scheduled_at(payload)]

    async def timestamps(self) -> list[datetime]:
        return [utc(ts) for ts in await self.backend.timestamps()]

    async def delayed_at(self, when: datetime | float) -> list[Job]:
        ts = math.ceil(to_timestamp(when))
        return [lenient_job(p, "") for p in await self.backend.delayed_at(ts)]

    async def delete_delayed_at(self, when: datetime | float) -> int:
        return await self.backend.remove_delayed_at(math.ceil(to_timestamp(when)))

    async def all_delayed(self) -> dict[datetime, list[Job]]:
        """Every delayed job by time (a listing: nothing is removed)."""
        result: dict[datetime, list[Job]] = {}
        for ts in await self.backend.timestamps():
            result[utc(ts)] = [lenient_job(p, "") for p in await self.backend.delayed_at(ts)]
        return result

    async def delete_all_delayed(self) -> int:
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
        """Clean workers working on one job for longer than ``age``, and idle workers
        whose last sign of life is older than ``age``. Returns ``{name: failed record}``."""
        limit = self.clock.time() - to_seconds(age)
        cleaned: dict[str, FailedJob | None] = {}
        for worker in await self.workers():
            if worker.working_on is not None:
                since = worker.working_on.run_at
            else:
                since = worker.last_ping or worker.started
            if since is not None and since.timestamp() < limit:
                cleaned[worker.name] = await force_clean_worker(
                    self.backend, worker.name, cleaner=self.name, now=self.clock.time(),
                    reason=f"no sign of life since {since.isoformat()}", queues=worker.queues,
                )  # fmt: skip
        return cleaned

    # --------------------------------------------------------------- failed
    async def failed_count(self) -> int:
        return await self.backend.failed_count()

    async def failed(self, start: int = 0, stop: int = -1) -> list[FailedJob]:
        return [codec.decode_failure(raw) for raw in await self.backend.failed(start, stop)]

    async def remove_failed(self, job: FailedJob) -> bool:
        return await self.backend.remove_failed(job.raw) > 0

    async def retry_and_remove_failed(self, job: FailedJob) -> bool:
        """Put a failed job back on its queue and remove it from the failed list, in one
        step. False when a plugin vetoed it (it then stays failed). Raises
        ``FailedJobNotFound`` when it is no longer in the failed list."""
        if job.job is not None and job.job.task in self.registry:
            definition = self.registry.get(job.job.task)
            ctx = PluginContext(job=job.job, backend=self.backend, clock=self.clock)
            if definition.plugins and not await run_before(definition.plugins, "enqueue", ctx):
                return False
        queue = job.job.queue if job.job is not None and job.job.queue else job.queue
        if not await self.backend.retry_failed(job.raw, queue, job.payload_text):
            raise FailedJobNotFound("this job is not in the failed list (any more)")
        self._notify(queue)
        return True

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
