"""A worker: claim one job, perform it, settle the outcome. One ``tick()`` per job.

Nothing a worker claims is lost. Once a job is claimed it sits in the worker's working-on
record until the worker settles it in one backend step: finished (success), failed (the
failed list, with the error), discarded (a plugin vetoed it) or released (back to the
head of its queue: shutdown interrupted it, or the backend failed before it ran). When the
backend fails while a job is being settled, the worker retries the remaining steps with
backoff, inside the same ``tick()``, until the backend answers: it claims nothing else
meanwhile (a new claim would overwrite the record of the unsettled job), and a pool
retiring it waits. Only shutdown interrupts that wait; the steps left are tried once
more when the worker unregisters, and if the backend is still away the registration
stays, so that the scheduler's stuck-worker cleanup moves the job later.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stellar import codec
from stellar.backends.protocol import Backend, Claimed
from stellar.clock import Clock
from stellar.config import Settings
from stellar.errors import BackendUnavailable, JobTimeout, PayloadError, UnknownTask
from stellar.events import Event, EventKind, Events
from stellar.job import Job
from stellar.plugins.base import Plugin, PluginContext
from stellar.runtime.loop import Retrying
from stellar.tasks.definition import Task
from stellar.tasks.registry import Registry

log = logging.getLogger("stellar.worker")

PERIODIC_ARGS: list[Any] = [{}]
WILDCARD = "*"

Step = Callable[[], Awaitable[None]]


def queues_string(queues: Sequence[str]) -> str:
    return WILDCARD if not queues or WILDCARD in queues else ",".join(queues)


def backtrace(exc: BaseException) -> list[str]:
    lines: list[str] = []
    for chunk in traceback.format_exception(exc):
        lines += chunk.rstrip("\n").split("\n")
    return lines


@dataclass
class _Unsettled:
    """A claimed job whose outcome is not stored yet, and the steps left to store it."""

    claimed: Claimed
    steps: list[Step]
    done: int = 0
    verified: bool = False  # the working-on record was just seen to be still ours


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
        self.wanted = list(queues) or [WILDCARD]
        self.queues = queues_string(self.wanted)
        self.backend = backend
        self.registry = registry
        self.api = api
        self.clock = clock
        self.settings = settings
        self.events = events if events is not None else Events()
        self.current: Claimed | None = None
        self.processed = 0
        self.failed = 0
        self._known: list[str] = []
        self._known_at = -1e18
        self._claimed_at = 0.0
        self._unsettled: _Unsettled | None = None
        self._dirty = False  # a claim may have happened that we did not hear of

    @property
    def busy(self) -> bool:
        return self.current is not None

    @property
    def unsettled(self) -> bool:
        """True while a claimed job's outcome is not stored (the backend failed)."""
        return self._unsettled is not None or self._dirty

    def claim_unknown(self) -> None:
        """A claim may have been made for this worker without its knowing (a round trip
        that failed): it looks at its record before claiming again."""
        self._dirty = True

    def emit(self, kind: EventKind, **fields: Any) -> None:
        if self.events:
            self.events.emit(Event(kind=kind, time=self.clock.time(), worker=self.name, **fields))

    async def register(self) -> None:
        await self.backend.register_worker(self.name, self.queues, self.clock.time())
        self.emit("worker.start")

    async def unregister(self) -> None:
        """Leave the workers set. A job this worker still holds is settled (or put back)
        first; when that fails, the registration stays for the stuck-worker cleanup,
        which then moves the job (to the failed list, or back to its queue)."""
        if self.unsettled:
            await self.reconcile(register=False)
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

    def queue_seen(self, queue: str | None) -> None:
        """A job was just queued in ``queue`` (None: somewhere): when ``*`` does not know
        that queue (or, for None, knows none), look for new queues on the next tick
        instead of at the end of the poll interval."""
        if WILDCARD in self.wanted and (queue not in self._known if queue else not self._known):
            self._known_at = -1e18

    async def tick(self) -> bool:
        """Claim and perform one job. False when every queue was empty."""
        if self.unsettled:
            await self.reconcile()
        queues = await self.resolve_queues()
        if not queues:
            return False
        try:
            claimed = await self.backend.claim(queues, self.name, self.queues, self.clock.time())
        except BaseException:
            # the claim may have been made all the same (an answer lost, a cancelled wait
            # on a write that went through): look before claiming again
            self._dirty = True
            raise
        if claimed is None:
            return False
        await self.work_on(claimed)
        return True

    async def work_on(self, claimed: Claimed) -> None:
        """Perform a job this worker claimed (its working-on record holds it)."""
        self.current = claimed
        self._claimed_at = self.clock.monotonic()
        try:
            await self.perform(claimed)
        finally:
            self.current = None

    async def reconcile(self, *, register: bool = True) -> None:
        """After a backend failure: finish settling the job this worker holds, or put
        back a job claimed without our knowing, then make sure the worker is registered
        (the stuck-worker cleanup may have removed it while the backend was away).
        Raises while the backend is still failing; nothing is claimed until it passes."""
        record = await self.backend.working_on(self.name, self.queues)
        unsettled = self._unsettled
        if unsettled is not None and record == unsettled.claimed.record:
            await self._resume(verified=True)
            record = None
        elif unsettled is not None:
            self._taken_over(unsettled.claimed)
            self._unsettled = None
        # any other record is a claim whose answer was lost (one made along with a
        # settle, too): this worker holds no job, so it goes back
        if record is not None and await self.backend.release(self.name, self.queues, record):
            log.warning(
                "%s: a job was claimed while the backend failed; it went back to the "
                "head of its queue", self.name,
            )  # fmt: skip
        if register:
            await self.backend.register_worker(self.name, self.queues, self.clock.time())
        self._dirty = False

    def _taken_over(self, claimed: Claimed) -> None:
        log.warning(
            "%s: the job from %r is no longer recorded on this worker: its outcome was "
            "stored just before the backend failed, or the stuck-worker cleanup moved it "
            "(to the failed list, or back to its queue with retry_stuck_jobs) while the "
            "worker looked dead; that record stands",
            self.name, claimed.queue,
        )  # fmt: skip

    async def _resume(self, *, verified: bool = False) -> None:
        unsettled = self._unsettled
        assert unsettled is not None
        unsettled.verified = verified
        while unsettled.done < len(unsettled.steps):
            await unsettled.steps[unsettled.done]()
            unsettled.done += 1
        self._unsettled = None

    async def _settle(self, claimed: Claimed, steps: list[Step]) -> None:
        """Run the steps that store a job's outcome, until they pass: while the backend
        fails, back off and try again (checking first that the job is still ours)."""
        self._unsettled = _Unsettled(claimed, steps)
        retrying = Retrying(log, f"{self.name} (storing a job's outcome)")
        try:
            await self._resume()
        except Exception as exc:
            await self.clock.sleep(retrying.failed(exc))
            while True:
                try:
                    await self.reconcile()
                    break
                except Exception as exc:
                    await self.clock.sleep(retrying.failed(exc))
            retrying.succeeded()

    async def _still_mine(self, claimed: Claimed) -> bool:
        """False when the stuck-worker cleanup took the job away while it ran. That can
        only happen to a job that ran for a good part of ``stuck_worker_timeout`` (pings
        stopped meanwhile: backend outage, blocked loop), so only those pay the read."""
        unsettled = self._unsettled
        if unsettled is not None and unsettled.verified:
            return True
        elapsed = self.clock.monotonic() - self._claimed_at
        if elapsed < self.settings.stuck_worker_timeout / 2:
            return True
        if await self.backend.working_on(self.name, self.queues) == claimed.record:
            return True
        self._taken_over(claimed)
        await self.backend.register_worker(self.name, self.queues, self.clock.time())
        return False

    # ------------------------------------------------------------- performing
    async def perform(self, claimed: Claimed) -> None:
        try:
            job = codec.decode_job(claimed.payload, claimed.queue)
            definition = self.registry.get(job.task)
        except (PayloadError, UnknownTask) as exc:
            await self._settle(claimed, [self._failure_step(claimed, claimed.payload, exc)])
            return
        ctx = PluginContext(
            job=job, backend=self.backend, clock=self.clock, worker=self.name, events=self.events
        )
        self.emit("job.start", queue=job.queue, job=job)
        passed: list[Plugin] = []
        started = time.perf_counter()
        try:
            go = await self._before(definition.plugins, ctx, passed)
            if go and ctx.error is None:
                ctx.error = await self.execute(definition, job)
        except asyncio.CancelledError:
            # shutdown ran out of time: the job goes back to the head of its queue
            self._unsettled = _Unsettled(claimed, self._interrupt_steps(claimed, ctx, passed))
            try:
                await self._resume()
            except Exception as exc:
                log.error("%s: could not put its job back yet: %s", self.name, exc)
            raise
        except BackendUnavailable:
            # a before_perform hook could not reach the backend: the job has not run;
            # it goes back to its queue once the backend answers
            await self._settle(claimed, self._interrupt_steps(claimed, ctx, passed))
            return
        if not go:
            steps = [self._interrupt_step(p, ctx) for p in passed]
            steps.append(self._discard_step(claimed))
            await self._settle(claimed, steps)
            return
        steps = [self._after_step(p, ctx) for p in definition.plugins]
        steps.append(self._outcome_step(claimed, definition, ctx, started))
        await self._settle(claimed, steps)

    async def _before(
        self, plugins: Sequence[Plugin], ctx: PluginContext, passed: list[Plugin]
    ) -> bool:
        """Run the before_perform hooks. False: vetoed. An exception from a hook fails
        the job (``ctx.error``), as in node-resque, and its after hooks still run;
        ``BackendUnavailable`` propagates (the job is put back, not failed)."""
        for plugin in plugins:
            try:
                if not await plugin.before_perform(ctx):
                    return False
            except BackendUnavailable:
                raise
            except Exception as exc:
                log.error("%s: %r.before_perform failed: %s", self.name, plugin, exc)
                ctx.error = exc
                return True
            passed.append(plugin)
        return True

    def _after_step(self, plugin: Plugin, ctx: PluginContext) -> Step:
        async def step() -> None:
            try:
                await plugin.after_perform(ctx)
            except BackendUnavailable:
                raise  # run this hook again once the backend answers
            except Exception as exc:
                log.error("%s: %r.after_perform failed: %s", self.name, plugin, exc)
                if ctx.error is None:
                    ctx.error = exc

        return step

    def _interrupt_step(self, plugin: Plugin, ctx: PluginContext) -> Step:
        async def step() -> None:
            try:
                await plugin.after_interrupt(ctx)
            except BackendUnavailable:
                raise
            except Exception as exc:
                log.error("%s: %r.after_interrupt failed: %s", self.name, plugin, exc)

        return step

    def _interrupt_steps(
        self, claimed: Claimed, ctx: PluginContext, passed: list[Plugin]
    ) -> list[Step]:
        steps = [self._interrupt_step(p, ctx) for p in passed]

        async def release() -> None:
            if await self.backend.release(self.name, self.queues, claimed.record):
                log.warning("%s: job put back at the head of %r", self.name, claimed.queue)

        steps.append(release)
        return steps

    def _discard_step(self, claimed: Claimed) -> Step:
        async def step() -> None:
            if await self._still_mine(claimed):
                await self.backend.finish(self.name, self.queues, discard=True)

        return step

    def _outcome_step(
        self, claimed: Claimed, definition: Task, ctx: PluginContext, started: float
    ) -> Step:
        async def step() -> None:
            if not await self._still_mine(claimed):
                return
            reschedule = None
            if definition.periodic:
                payload = codec.encode_job(definition.name, definition.queue, PERIODIC_ARGS)
                at = self.clock.time() + float(definition.frequency)
                reschedule = (definition.name, definition.queue, payload, at)
            duration = time.perf_counter() - started
            job = ctx.job
            if ctx.error is None:
                await self.backend.finish(self.name, self.queues, reschedule=reschedule)
                self.processed += 1
                log.debug("%s: %s done in %.1f ms", self.name, job.task, duration * 1000)
                self.emit("job.success", queue=job.queue, job=job, duration=duration)
                return
            error = ctx.error
            record = self._failure_record(claimed.queue, job.payload, error)
            await self.backend.finish(self.name, self.queues, failure=record, reschedule=reschedule)
            self.failed += 1
            log.error("%s: %s in %r failed: %s: %s", self.name, job.task, claimed.queue,
                      type(error).__name__, error)  # fmt: skip
            self.emit("job.failure", queue=job.queue, job=job, error=error, duration=duration)

        return step

    def _failure_step(self, claimed: Claimed, payload: str, error: BaseException) -> Step:
        async def step() -> None:
            if not await self._still_mine(claimed):
                return
            record = self._failure_record(claimed.queue, payload, error)
            await self.backend.finish(self.name, self.queues, failure=record)
            self.failed += 1
            log.error("%s: job in %r failed: %s: %s", self.name, claimed.queue,
                      type(error).__name__, error)  # fmt: skip
            self.emit("job.failure", queue=claimed.queue, error=error)

        return step

    def _failure_record(self, queue: str, payload: str, error: BaseException) -> str:
        return codec.encode_failure(
            worker=self.name,
            queue=queue,
            payload=payload,
            exception=type(error).__name__,
            error=str(error),
            backtrace=backtrace(error),
            failed_at=self.clock.time(),
        )

    async def execute(self, definition: Task, job: Job) -> BaseException | None:
        """Run the task; returns its error (None on success). Never raises but for
        cancellation."""
        args = job.args or ({},)
        timeout = definition.timeout or self.settings.job_timeout or None
        if timeout is None:  # no deadline to keep: no timeout context (a cost per job)
            try:
                await self._run(definition, args)
            except (Exception, SystemExit) as exc:
                return exc
            return None
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                await self._run(definition, args)
        except TimeoutError as exc:
            if not deadline.expired():
                return exc  # the task's own timeout, not ours
            if not definition.is_async:
                log.warning(
                    "%s: %s passed its timeout; its thread cannot be interrupted and runs "
                    "on in the background", self.name, job.task,
                )  # fmt: skip
            return JobTimeout(f"{job.task} ran longer than its timeout of {timeout:g} s")
        except (Exception, SystemExit) as exc:  # sys.exit() in a task fails the job only
            return exc
        return None

    async def _run(self, definition: Task, args: Sequence[Any]) -> None:
        if definition.is_async:
            await definition.run(self.api, *args)
        else:
            result = await asyncio.to_thread(definition.run, self.api, *args)
            if inspect.isawaitable(result):  # an object with an async __call__
                await result
