"""A worker: claim one job, perform it, settle the outcome. One ``tick()`` per job."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Sequence
from typing import Any

from stellar import codec
from stellar.backends.protocol import Backend, Claimed
from stellar.clock import Clock
from stellar.config import Settings
from stellar.errors import JobTimeout, PayloadError, UnknownTask
from stellar.events import Event, EventKind, Events
from stellar.job import Job
from stellar.plugins.base import PluginContext, run_after, run_before
from stellar.tasks.definition import Task
from stellar.tasks.registry import Registry

log = logging.getLogger("stellar.worker")

PERIODIC_ARGS: list[Any] = [{}]
WILDCARD = "*"


def queues_string(queues: Sequence[str]) -> str:
    return WILDCARD if not queues or WILDCARD in queues else ",".join(queues)


def backtrace(exc: BaseException) -> list[str]:
    lines: list[str] = []
    for chunk in traceback.format_exception(exc):
        lines += chunk.rstrip("\n").split("\n")
    return lines


class Worker:
    """One task processor, registered as a Resque worker ``host:pid+N``."""

    def __init__(
        self,
        *,
        name: str,
        queues: Sequence[str],
        backend: Backend,
        registry: Registry,
        api: Any,
        clock: Clock,
        settings: Settings,
        events: Events | None = None,
    ) -> None:
        self.name = name
        self.events = events if events is not None else Events()
        self.wanted = list(queues) or [WILDCARD]
        self.queues = queues_string(self.wanted)
        self.backend = backend
        self.registry = registry
        self.api = api
        self.clock = clock
        self.settings = settings
        self.current: Claimed | None = None
        self.processed = 0
        self.failed = 0
        self._known: list[str] = []
        self._known_at = -1e18

    @property
    def busy(self) -> bool:
        return self.current is not None

    def emit(self, kind: EventKind, **fields: Any) -> None:
        if self.events:
            self.events.emit(Event(kind=kind, time=self.clock.time(), worker=self.name, **fields))

    async def register(self) -> None:
        await self.backend.register_worker(self.name, self.queues, self.clock.time())
        self.emit("worker.start")

    async def unregister(self) -> None:
        await self.backend.unregister_worker(self.name, self.queues)
        self.emit("worker.end")

    async def resolve_queues(self) -> list[str]:
        """The queues to poll, in order; ``*`` stands for every known queue (sorted),
        refreshed at most once per poll interval."""
        if WILDCARD not in self.wanted:
            return self.wanted
        now = self.clock.monotonic()
        if now - self._known_at >= self.settings.poll_interval:
            known = await self.backend.queues()
            explicit = [q for q in self.wanted if q != WILDCARD]
            self._known = explicit + [q for q in known if q not in explicit]
            self._known_at = now
        return self._known

    async def tick(self) -> bool:
        """Claim and perform one job. False when every queue was empty."""
        queues = await self.resolve_queues()
        if not queues:
            return False
        claimed = await self.backend.claim(queues, self.name, self.queues, self.clock.time())
        if claimed is None:
            return False
        self.current = claimed
        try:
            await self.perform(claimed)
        except asyncio.CancelledError:
            # shutdown ran out of time: the job goes back to the head of its queue
            await asyncio.shield(self.backend.release(self.name, self.queues, claimed.record))
            log.warning("%s: job put back at the head of %r", self.name, claimed.queue)
            raise
        finally:
            self.current = None
        return True

    async def perform(self, claimed: Claimed) -> None:
        try:
            job = codec.decode_job(claimed.payload, claimed.queue)
            definition = self.registry.get(job.task)
        except (PayloadError, UnknownTask) as exc:
            await self.fail(claimed.queue, claimed.payload, exc)
            self.emit("job.failure", queue=claimed.queue, error=exc)
            return
        ctx = PluginContext(job=job, backend=self.backend, clock=self.clock, worker=self.name)
        if definition.plugins and not await run_before(definition.plugins, "perform", ctx):
            await self.backend.finish(self.name, self.queues, discard=True)
            return
        started = time.perf_counter()
        self.emit("job.start", queue=job.queue, job=job)
        ctx.error = await self.execute(definition, job)
        if definition.plugins:
            try:
                await run_after(definition.plugins, "perform", ctx)
            except Exception as exc:
                ctx.error = ctx.error or exc
        reschedule = None
        if definition.periodic:
            payload = codec.encode_job(definition.name, definition.queue, PERIODIC_ARGS)
            at = self.clock.time() + float(definition.frequency)
            reschedule = (definition.name, definition.queue, payload, at)
        duration = time.perf_counter() - started
        if ctx.error is None:
            await self.backend.finish(self.name, self.queues, reschedule=reschedule)
            self.processed += 1
            log.debug("%s: %s done in %.1f ms", self.name, job.task, duration * 1000)
            self.emit("job.success", queue=job.queue, job=job, duration=duration)
        else:
            await self.fail(job.queue, job.payload, ctx.error, reschedule)
            self.emit("job.failure", queue=job.queue, job=job, error=ctx.error, duration=duration)

    async def execute(self, definition: Task, job: Job) -> BaseException | None:
        """Run the task; returns its error (None on success). Never raises but for
        cancellation."""
        args = job.args or ({},)
        timeout = definition.timeout or self.settings.job_timeout or None
        try:
            async with asyncio.timeout(timeout):
                if definition.is_async:
                    await definition.run(self.api, *args)
                else:
                    await asyncio.to_thread(definition.run, self.api, *args)
        except TimeoutError:
            return JobTimeout(f"{job.task} ran longer than its timeout of {timeout:g} s")
        except Exception as exc:
            return exc
        return None

    async def fail(
        self,
        queue: str,
        payload: str,
        error: BaseException,
        reschedule: tuple[str, str, str, float] | None = None,
    ) -> None:
        self.failed += 1
        log.error("%s: job in %r failed: %s: %s", self.name, queue, type(error).__name__, error)
        record = codec.encode_failure(
            worker=self.name,
            queue=queue,
            payload=payload,
            exception=type(error).__name__,
            error=str(error),
            backtrace=backtrace(error),
            failed_at=self.clock.time(),
        )
        await self.backend.finish(self.name, self.queues, failure=record, reschedule=reschedule)
