"""Run an application's jobs in the test's own task: no background loops, no sleeping."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stellar import codec
from stellar.api import Api
from stellar.app import App
from stellar.backends.protocol import Backend
from stellar.clock import Clock
from stellar.config import Settings
from stellar.events import Event
from stellar.job import Job
from stellar.runtime.scheduler import Scheduler
from stellar.runtime.worker import Worker
from stellar.tasks.definition import Task
from stellar.tasks.registry import Registry
from stellar.testing._clock import FakeClock

DEFAULT_LIMIT = 1000


def make_app(
    root: str | os.PathLike[str] = ".",
    *,
    database: str | os.PathLike[str],
    clock: Clock | None = None,
    tasks: Sequence[Task] = (),
    processors: bool = False,
    scheduler: bool = False,
    **settings: Any,
) -> App:
    """An application for tests: the tasks of ``root`` (and ``tasks``), stored in the
    SQLite file ``database``, on ``clock`` (a new :class:`FakeClock` by default).

    It runs nothing by itself (``processors`` and ``scheduler`` are off): call
    :func:`drain` to run what is due. ``STELLAR_*`` environment variables are ignored, so a
    developer's shell can never point a test at a real backend.
    """
    return App(
        root,
        processors=processors,
        scheduler=scheduler,
        tasks=tasks,
        clock=clock if clock is not None else FakeClock(),
        env={},
        backend=f"sqlite:///{Path(database).resolve()}",
        **settings,
    )


@dataclass(frozen=True)
class Ran:
    """One job :func:`drain` ran. ``job`` is None when its payload was not a valid job."""

    queue: str
    job: Job | None
    error: BaseException | None
    duration: float | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def task(self) -> str | None:
        return self.job.task if self.job is not None else None


@dataclass(frozen=True)
class Drained:
    """What one :func:`drain` ran, in order."""

    ran: tuple[Ran, ...]

    @property
    def tasks(self) -> list[str | None]:
        """Names of the tasks that ran, in order."""
        return [r.task for r in self.ran]

    @property
    def succeeded(self) -> list[Job]:
        return [r.job for r in self.ran if r.ok and r.job is not None]

    @property
    def failed(self) -> list[Ran]:
        return [r for r in self.ran if not r.ok]

    def __len__(self) -> int:
        return len(self.ran)


class _Recorder:
    """Collects the outcomes the drain worker reports, and whether the scheduler acted."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ran: list[Ran] = []
        self.active = False

    def __call__(self, event: Event) -> None:
        if event.kind in ("job.success", "job.failure") and event.worker == self.name:
            self.ran.append(Ran(event.queue or "", event.job, event.error, event.duration))
        elif event.kind == "job.reenqueue" and event.worker in (None, self.name):
            self.active = True  # a periodic task was seeded, due now

    def promoted(self, moved: int) -> None:
        self.active = True


def _started(app: App) -> tuple[Api, Registry, Backend, Settings]:
    if app.pool is not None or app.scheduler is not None:
        raise RuntimeError(
            "drain() runs the jobs itself: start the application with processors=False and "
            "scheduler=False (stellar.testing.make_app does)"
        )
    api = app.api  # raises when the application is not started
    assert app.registry is not None and app.backend is not None and app.settings is not None
    return api, app.registry, app.backend, app.settings


async def drain(
    app: App,
    *,
    queues: Sequence[str] | None = None,
    periodic: bool = True,
    limit: int = DEFAULT_LIMIT,
    raise_errors: bool = False,
) -> Drained:
    """Run every job that is queued or due, one at a time, in the calling task, and return
    what ran. Delayed jobs are due when the application's clock has reached their time
    (advance a :class:`FakeClock` to make them due); periodic tasks are seeded as the
    scheduler would, unless ``periodic`` is False. Jobs enqueued by the jobs run too, so
    nothing due is left when it returns.

    It drives the real worker and scheduler, ``tick()`` by ``tick()``, so plugins, events,
    failures, stats and the failed list behave as in production. ``raise_errors`` raises
    the first job's error once everything ran. Claiming more than ``limit`` jobs raises
    ``RuntimeError`` (a task that keeps enqueueing work)."""
    api, registry, backend, settings = _started(app)
    name = f"{app.name}+drain"

    def worker() -> Worker:
        # A new view each round: the "*" queue list is refreshed per poll interval of
        # monotonic time, which a FakeClock does not move; one registration serves all.
        return Worker(
            name=name, queues=queues or settings.queues, backend=backend, registry=registry,
            api=api, clock=app.clock, settings=settings, events=app.events,
        )  # fmt: skip

    scheduler = Scheduler(
        backend=backend, registry=registry if periodic else Registry(), clock=app.clock,
        settings=settings, name=name, events=app.events,
    )  # fmt: skip
    recorder = _Recorder(name)
    scheduler.on_promote.append(recorder.promoted)
    unsubscribe = app.events.subscribe(recorder)
    first = worker()
    await first.register()
    try:
        await _rounds(worker, scheduler, recorder, limit)
    finally:
        unsubscribe()
        await asyncio.shield(first.unregister())
        await asyncio.shield(backend.release_leader(name))
    result = Drained(tuple(recorder.ran))
    if raise_errors and result.failed:
        error = result.failed[0].error
        assert error is not None
        raise error
    return result


async def _rounds(
    worker: Callable[[], Worker], scheduler: Scheduler, recorder: _Recorder, limit: int
) -> None:
    """A scheduler tick, then jobs until the queues are empty; again until a round finds
    nothing to do."""
    claimed = 0
    while True:
        recorder.active = False
        await scheduler.tick()
        if not scheduler.leading:
            raise RuntimeError(
                "drain(): another scheduler leads this backend, so due jobs cannot be moved; "
                "stop it, or give the test an application of its own"
            )
        view, ran = worker(), 0
        while await view.tick():
            ran += 1
            claimed += 1
            if claimed > limit:
                raise RuntimeError(
                    f"drain(): more than {limit} jobs ran; a task keeps enqueueing work "
                    "(pass a larger limit= if that is expected)"
                )
        if not ran and not recorder.active:
            return


async def run_task(app: App, task: str, params: Any = None) -> Any:
    """Call ``task``'s ``run`` at once, in the calling task, and return what it returns
    (its exception propagates). ``params`` make the same JSON round trip as a queued job,
    so the task sees exactly what a worker would give it. No queue, no plugins, no
    events: use :func:`drain` for the whole path."""
    api = app.api  # raises when the application is not started
    assert app.registry is not None
    definition = app.registry.get(task)
    params = {} if params is None else params
    codec.check_params(params)
    payload = codec.encode_job(task, definition.queue, [params])
    args = codec.decode_job(payload).args
    if definition.is_async:
        return await definition.run(api, *args)
    return await asyncio.to_thread(definition.run, api, *args)
