"""The task processors of one process: ``min..max`` workers, scaled by load and loop lag.

Every ``check_interval`` the pool measures the event loop's lag (how late its own timer
fired) and adds one worker when more than half are busy and the lag is under
``max_loop_lag``, or removes the last one when the loop lags or fewer than half are busy
(node-resque's MultiWorker rules). It also pings its workers every ``ping_interval``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

from stellar.backends.protocol import Backend
from stellar.clock import Clock
from stellar.config import Settings
from stellar.events import Events
from stellar.runtime.loop import drive
from stellar.runtime.worker import Worker
from stellar.tasks.registry import Registry

log = logging.getLogger("stellar.pool")


class _Slot:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.stop = asyncio.Event()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class ProcessorPool:
    """Keeps between ``min_processors`` and ``max_processors`` workers running."""

    def __init__(
        self,
        *,
        backend: Backend,
        registry: Registry,
        api: Any,
        clock: Clock,
        settings: Settings,
        queues: Sequence[str] | None = None,
        min_processors: int | None = None,
        max_processors: int | None = None,
        name: str | None = None,
        events: Events | None = None,
    ) -> None:
        self.events = events if events is not None else Events()
        self.backend = backend
        self.registry = registry
        self.api = api
        self.clock = clock
        self.settings = settings
        self.queues = list(queues or settings.queues)
        self.min = settings.min_processors if min_processors is None else min_processors
        self.max = settings.max_processors if max_processors is None else max_processors
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.slots: list[_Slot] = []
        self.retiring: list[_Slot] = []  # removed, finishing their current job
        self.lag = 0.0
        self._last_check: float | None = None
        self._last_ping = -1e18

    @property
    def busy(self) -> int:
        return sum(1 for s in self.slots if s.worker.busy)

    def wake(self, queue: str | None = None) -> None:
        """A job was pushed: wake idle workers now instead of at their next poll."""
        for slot in self.slots:
            if not slot.worker.busy:
                slot.wake.set()

    def decide(self) -> str:
        """``+`` add a worker, ``-`` remove one, ``x`` keep as is."""
        n, blocked = len(self.slots), self.lag > self.settings.max_loop_lag
        share = self.busy / n if n else 0.0
        if blocked:
            return "-" if n > self.min else "x"
        if n < self.min or (n < self.max and (n == 0 or share > 0.5)):
            return "+"
        if n > self.min and share < 0.5:
            return "-"
        return "x"

    async def tick(self) -> float:
        """One check: measure lag, scale by one step, ping. Returns the next wait."""
        now = self.clock.monotonic()
        if self._last_check is not None:
            self.lag = max(0.0, now - self._last_check - self.settings.check_interval)
        self._last_check = now
        action = self.decide()
        if action == "+":
            await self.add()
        elif action == "-":
            await self.remove()
        if now - self._last_ping >= self.settings.ping_interval:
            self._last_ping = now
            wall = self.clock.time()
            self.retiring = [s for s in self.retiring if s.task is not None and not s.task.done()]
            for slot in self.slots + self.retiring:
                await self.backend.ping_worker(slot.worker.name, slot.worker.queues, wall)
        return self.settings.check_interval

    async def add(self) -> Worker:
        worker = Worker(
            name=f"{self.name}+{len(self.slots) + 1}",
            queues=self.queues,
            backend=self.backend,
            registry=self.registry,
            api=self.api,
            clock=self.clock,
            settings=self.settings,
            events=self.events,
        )
        await worker.register()
        slot = _Slot(worker)
        self.slots.append(slot)
        slot.task = asyncio.create_task(self._work(slot), name=worker.name)
        log.debug("started worker %s", worker.name)
        return worker

    async def remove(self) -> None:
        """Retire the last worker: it finishes its current job, then unregisters."""
        slot = self.slots.pop()
        slot.stop.set()
        slot.wake.set()
        self.retiring.append(slot)

    async def _work(self, slot: _Slot) -> None:
        worker = slot.worker

        async def tick() -> float:
            return 0.0 if await worker.tick() else self.settings.poll_interval

        try:
            await drive(tick, stop=slot.stop, log=log, what=worker.name, wake=slot.wake)
        finally:
            try:
                await asyncio.shield(worker.unregister())
            except Exception as exc:  # the backend may be down at shutdown
                log.error("%s: could not unregister: %s", worker.name, exc)

    async def run(self, stop: asyncio.Event) -> None:
        """Scale and ping until ``stop`` is set, then shut the workers down."""
        try:
            await drive(self.tick, stop=stop, log=log, what="processor pool")
        finally:
            await self.shutdown()

    async def shutdown(self, timeout: float | None = None) -> None:
        """Stop claiming; let running jobs finish up to ``shutdown_timeout``; then cancel
        what is left (its job goes back to the head of its queue) and unregister."""
        timeout = self.settings.shutdown_timeout if timeout is None else timeout
        everyone = self.slots + self.retiring
        for slot in everyone:
            slot.stop.set()
            slot.wake.set()
        tasks = [s.task for s in everyone if s.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                log.warning("%s: still running after %.1f s, interrupting", task.get_name(),
                            timeout)  # fmt: skip
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.slots.clear()
        self.retiring.clear()
