"""A worker, a client API and a fake clock on one backend, driven tick by tick."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from stellar.api import Api, Tasks
from stellar.backends import Backend
from stellar.config import Settings
from stellar.events import Event, Events
from stellar.runtime.worker import Worker
from stellar.tasks.definition import Task
from stellar.testing import FakeClock

QUEUES = ("default", "other")


class Rig:
    """Everything a worker needs, with time that only moves when the test says so."""

    def __init__(self, backend: Backend, tasks: Sequence[Task], **settings: Any) -> None:
        from stellar.tasks.registry import Registry

        self.backend = backend
        self.clock = FakeClock()
        self.settings = Settings(**settings)
        self.registry = Registry([("test", t) for t in tasks])
        self.tasks = Tasks(backend, self.registry, clock=self.clock, name="rig")
        self.api = Api(tasks=self.tasks, log=logging.getLogger("test.task"), config=self.settings)
        self.events = Events()
        self.seen: list[Event] = []
        self.events.subscribe(self.seen.append)
        self._workers = 0

    async def worker(self, queues: Sequence[str] = QUEUES) -> Worker:
        self._workers += 1
        worker = Worker(
            name=f"rig:1+{self._workers}", queues=queues, backend=self.backend,
            registry=self.registry, api=self.api, clock=self.clock, settings=self.settings,
            events=self.events,
        )  # fmt: skip
        await worker.register()
        return worker

    async def promote(self, ahead: float = 0.0) -> int:
        """Move the delayed jobs due ``ahead`` seconds from now (default: now)."""
        return await self.backend.promote_due(self.clock.time() + ahead, 1000)

    async def stats(self) -> dict[str, int]:
        return {k: v for k, v in (await self.backend.stats()).items() if ":" not in k}

    def kinds(self, kind: str) -> list[Event]:
        return [e for e in self.seen if e.kind == kind]
