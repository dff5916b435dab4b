"""What the dashboard remembers: throughput per minute and how long queue heads wait.

Resque keeps two lifetime counters (``stat:processed``, ``stat:failed``) and no history,
and its payloads carry no enqueue time. So the dashboard samples: every ``interval``
seconds it reads the counters and the head of every queue into a ring buffer owned by
one ``create_app`` instance. History therefore starts when the dashboard starts and
covers the last hour; nothing is written to the backend.

*Oldest job age* of a queue: how long the job now at its head — the oldest job waiting
in it, queues being first in, first out — has been seen at the head. A queue whose
workers keep up stays near zero; one nobody takes from grows without bound, which is
what an alert should catch. It is a lower bound of the job's real wait: the clock starts
when the dashboard first sees the job at the head, and restarts when the head changes or
the queue gets shorter (identical payloads are told apart by that rule only).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stellar.api import Tasks
from stellar.clock import Clock
from stellar.errors import StellarError

log = logging.getLogger("stellar.web")

SPAN = 3600.0
MINUTE = 60.0


@dataclass(frozen=True)
class Sample:
    time: float
    processed: int
    failed: int


@dataclass(frozen=True)
class Head:
    """The job at the head of a queue, as last seen: its payload, and since when."""

    payload: str | None
    length: int
    since: float


@dataclass(frozen=True)
class Minute:
    """Jobs finished during the minute starting at ``start`` (None: before the history)."""

    start: float
    processed: int | None
    failed: int | None


class History:
    """A ring buffer of counter samples plus the last seen head of every queue."""

    def __init__(self, interval: float, span: float = SPAN) -> None:
        self.interval = interval
        self.span = span
        size = math.ceil(span / interval) + 16 if interval > 0 else 4096
        self._samples: deque[Sample] = deque(maxlen=size)
        self._heads: dict[str, Head] = {}

    @property
    def started(self) -> float | None:
        """Time of the oldest sample still kept."""
        return self._samples[0].time if self._samples else None

    @property
    def last(self) -> Sample | None:
        return self._samples[-1] if self._samples else None

    def add(
        self, now: float, stats: Mapping[str, int], heads: Mapping[str, tuple[int, str | None]]
    ) -> None:
        """Record one sample: the counters, and ``{queue: (length, head payload)}``."""
        self._samples.append(
            Sample(now, int(stats.get("processed", 0)), int(stats.get("failed", 0)))
        )
        seen: dict[str, Head] = {}
        for queue, (length, payload) in heads.items():
            before = self._heads.get(queue)
            if payload is None or length == 0:
                seen[queue] = Head(None, 0, now)
            elif before is None or before.payload != payload or length < before.length:
                seen[queue] = Head(payload, length, now)
            else:
                seen[queue] = Head(payload, length, before.since)
        self._heads = seen

    def oldest_age(self, queue: str, now: float) -> float:
        head = self._heads.get(queue)
        if head is None or head.payload is None:
            return 0.0
        return max(0.0, now - head.since)

    def per_minute(self, now: float, minutes: int = 60) -> list[Minute]:
        """Jobs processed and failed per minute, oldest first, the current minute last.

        Each increase between two samples counts in the minute of the later one; a counter
        that went down was reset, and its new value is the increase (as Prometheus'
        ``increase()`` does)."""
        current = math.floor(now / MINUTE) * MINUTE
        first = current - (minutes - 1) * MINUTE
        processed = [0] * minutes
        failed = [0] * minutes
        samples = list(self._samples)
        for before, after in zip(samples, samples[1:], strict=False):
            slot = int((math.floor(after.time / MINUTE) * MINUTE - first) // MINUTE)
            if 0 <= slot < minutes:
                processed[slot] += _increase(before.processed, after.processed)
                failed[slot] += _increase(before.failed, after.failed)
        start = self.started
        result = []
        for slot in range(minutes):
            begin = first + slot * MINUTE
            if start is None or begin + MINUTE <= start:
                result.append(Minute(begin, None, None))
            else:
                result.append(Minute(begin, processed[slot], failed[slot]))
        return result


def _increase(before: int, after: int) -> int:
    return after - before if after >= before else after


class Sampler:
    """Feeds a :class:`History`: ``tick()`` takes one sample, ``refresh()`` takes one
    unless the last is recent, and a driver task refreshes every ``interval`` seconds.

    The driver starts with the dashboard's lifespan or, when the dashboard is mounted in
    an application that does not run sub-application lifespans, with its first request.
    """

    def __init__(
        self,
        history: History,
        tasks: Callable[[], Tasks],
        clock: Callable[[], Clock],
    ) -> None:
        self.history = history
        self._tasks = tasks
        self._clock = clock
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def tick(self) -> None:
        tasks = self._tasks()
        stats = await tasks.stats()
        heads: dict[str, tuple[int, str | None]] = {}
        for queue in await tasks.queues():
            length = await tasks.length(queue)
            head = await tasks.queued(queue, 0, 0) if length else []
            heads[queue] = (length, head[0].payload if head else None)
        self.history.add(self._clock().time(), stats, heads)

    def _stale(self) -> bool:
        last = self.history.last
        # A little slack, so that the driver and a request never both take a sample.
        return last is None or self._clock().time() - last.time >= self.history.interval * 0.9

    async def refresh(self) -> None:
        """Take a sample now unless the last one is recent enough."""
        if not self._stale():
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._stale():
                await self.tick()

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
                if self._failing:
                    log.warning("dashboard sampling works again")
                    self._failing = False
            except (StellarError, RuntimeError) as exc:  # backend down, app not started
                if not self._failing:
                    log.error("dashboard sampling failed, retrying: %s", exc)
                self._failing = True
            await self._clock().sleep(self.history.interval)

    def ensure_running(self) -> None:
        """Start the driver on the running loop unless it runs already."""
        if self.history.interval <= 0:
            return
        task = self._task
        loop = asyncio.get_running_loop()
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._lock = None
        self._task = loop.create_task(self._run(), name="stellar-dashboard-sampler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            return
        task.cancel()
        await asyncio.wait([task])  # our own cancellation still propagates
