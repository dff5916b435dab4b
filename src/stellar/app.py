"""The composition root: config -> backend -> registry -> ``api.tasks`` -> runtime.

::

    async with App(".") as app:          # loads ./stellar.toml and ./modules/*/tasks
        await app.api.tasks.enqueue("email.sendResetPassword", {"to": "a@b.c"})

``App(root, processors=False, scheduler=False)`` is a client: it enqueues and manages,
it runs nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import signal
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from stellar.api import Api, Tasks
from stellar.backends import Backend, open_backend
from stellar.clock import SYSTEM_CLOCK, Clock
from stellar.config import Settings, load_settings
from stellar.events import Events
from stellar.runtime.pool import ProcessorPool
from stellar.runtime.scheduler import Scheduler
from stellar.tasks.definition import Task
from stellar.tasks.loader import load_tasks
from stellar.tasks.registry import Registry

log = logging.getLogger("stellar.app")
_instances = itertools.count(1)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs)."""
    return re.sub(r"(//[^/@:]*:)[^@/]*@", r"\1***@", url)


def process_name() -> str:
    """``host:pid`` for the first application in a process, ``host:pid.N`` after."""
    n = next(_instances)
    base = f"{socket.gethostname()}:{os.getpid()}"
    return base if n == 1 else f"{base}.{n}"


class App:
    """One Stellar application: its settings, tasks, backend, API and runtime."""

    def __init__(
        self,
        root: str | os.PathLike[str] = ".",
        *,
        processors: bool = True,
        scheduler: bool | None = None,
        queues: Sequence[str] | None = None,
        tasks: Sequence[Task] = (),
        clock: Clock = SYSTEM_CLOCK,
        env: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> None:
        self.root = Path(root).resolve()
        self.clock = clock
        self.name = process_name()
        #: subscribe here to observe jobs, workers and leadership (see stellar.events)
        self.events = Events()
        self._want_processors = processors
        self._want_scheduler = scheduler
        self._queues = queues
        self._extra = list(tasks)
        self._env = env
        self._overrides = settings
        self._stop = asyncio.Event()
        self._running: list[asyncio.Task[None]] = []
        self.settings: Settings | None = None
        self.registry: Registry | None = None
        self.backend: Backend | None = None
        self.pool: ProcessorPool | None = None
        self.scheduler: Scheduler | None = None
        self._api: Api | None = None

    @property
    def api(self) -> Api:
        if self._api is None:
            raise RuntimeError("the application is not started: use `async with App(...)`")
        return self._api

    async def start(self) -> None:
        """Load everything (raising on any invalid setting or task), then start the
        processors and the scheduler as configured."""
        settings = load_settings(self.root, self._env, **self._overrides)
        registry = load_tasks(self.root, settings.modules, self._extra)
        backend = open_backend(settings.backend, namespace=settings.namespace, root=self.root)
        processors = self._want_processors and settings.max_processors > 0
        try:
            await backend.check()
            if processors:  # the processors, the scheduler and the watcher call at once
                await backend.prepare(settings.max_processors + 3)
        except BaseException:
            await backend.aclose()
            raise
        tasks = Tasks(backend, registry, clock=self.clock, name=self.name)
        api = Api(tasks=tasks, log=logging.getLogger("stellar.task"), config=settings)
        self.settings, self.registry, self.backend, self._api = settings, registry, backend, api
        self._stop.clear()
        if processors:
            self.pool = ProcessorPool(
                backend=backend, registry=registry, api=api, clock=self.clock,
                settings=settings, queues=self._queues, name=self.name, events=self.events,
            )  # fmt: skip
            tasks.on_push.append(self.pool.wake)
            self._running.append(asyncio.create_task(self.pool.run(self._stop)))
        run_scheduler = settings.scheduler if self._want_scheduler is None else self._want_scheduler
        if run_scheduler:
            self.scheduler = Scheduler(
                backend=backend, registry=registry, clock=self.clock, settings=settings,
                name=self.name, events=self.events,
            )  # fmt: skip
            if self.pool is not None:
                self.scheduler.on_promote.append(self.pool.promoted)
                self.scheduler.claimer = self.pool
            self._running.append(asyncio.create_task(self.scheduler.run(self._stop)))
        log.info(
            "application %s started: %d task(s), backend %s, processors %s, scheduler %s",
            self.root.name, len(registry), redact(settings.backend),
            f"{settings.min_processors}..{settings.max_processors}" if self.pool else "off",
            "on" if self.scheduler else "off",
        )  # fmt: skip

    async def stop(self) -> None:
        """Graceful shutdown: stop claiming, finish or put back running jobs, unregister
        the workers, release the leader lock, close the backend."""
        self._stop.set()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
            self._running.clear()
        if self.backend is not None:
            await self.backend.aclose()
        self.pool = self.scheduler = None

    async def wait_closed(self) -> None:
        """Block until :meth:`request_stop` (or a signal) asks the application to stop."""
        await self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()

    async def serve(self) -> None:
        """Run until SIGINT or SIGTERM, then shut down gracefully."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.wait_closed()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    async def __aenter__(self) -> App:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
