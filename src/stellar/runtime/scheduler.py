"""The scheduler: only the leader acts. It renews the leader lock and moves due delayed
jobs to their queues the moment they fall due (one loop, which waits for the next due
time), and, on a loop of its own once per scheduler interval, keeps one copy of every
periodic task and cleans workers that stopped pinging. It never runs a job itself."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from stellar import codec
from stellar.backends.protocol import Backend, Claimed, ClaimRequest
from stellar.clock import Clock
from stellar.config import Settings
from stellar.events import Event, EventKind, Events
from stellar.maintenance import force_clean_worker
from stellar.runtime.loop import drive
from stellar.runtime.worker import PERIODIC_ARGS
from stellar.tasks.registry import Registry

log = logging.getLogger("stellar.scheduler")

PROMOTE_BATCH = 1000
#: Seconds between two promotion rounds that moved jobs, at least: jobs falling due in a
#: steady stream go to their queues in batches, at most ~1,000 rounds a second. A round
#: costs the process about as much as running a few no-op jobs; this keeps the
#: scheduler from taking the event loop away from the workers in a burst.
ROUND_SPACING = 0.001
#: Seconds: a round is also made this long before the next job falls due, so that the
#: round at its due time finds the jobs already read (a backend may read ahead: the
#: Redis one keeps what falls due in the next 50 ms) and has only to move them.
LEAD = 0.004


class Claimer(Protocol):
    """The idle task processors of the scheduler's own process (the pool): a round that
    moves due jobs also claims for them, in the same round trip, so those jobs start
    without a trip of the processors' own."""

    def reserve(self) -> list[ClaimRequest]:
        """The claims to make for the idle processors (each waits for the round's answer
        until :meth:`deliver`)."""

    def deliver(
        self, requests: Sequence[ClaimRequest], claimed: Sequence[Claimed | None] | None
    ) -> None:
        """The answer to each request (None: the round failed, its claims are unknown)."""


class Scheduler:
    """Leader-elected scheduler; ``tick()`` does one round, the driver repeats it."""

    def __init__(
        self,
        *,
        backend: Backend,
        registry: Registry,
        clock: Clock,
        settings: Settings,
        name: str | None = None,
        events: Events | None = None,
    ) -> None:
        self.events = events if events is not None else Events()
        self.backend = backend
        self.registry = registry
        self.clock = clock
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.leading = False
        #: called with how many due jobs were just moved to their queues and not claimed
        #: by the round itself (idle in-process workers wake up for them)
        self.on_promote: list[Callable[[int], None]] = []
        #: idle processors of this process that a round claims for (set by the App)
        self.claimer: Claimer | None = None
        self._next_due: float | None = None  # as the last round saw it
        self._last_clean = -1e18
        self._last_ok: float | None = None  # when the last round completed
        self._quiet_until = -1e18  # no stuck-worker cleaning before this time
        self._wake = asyncio.Event()  # set by the listener: a nearer delayed job was filed
        self._housekeeping = asyncio.Event()  # set when the leadership changes
        self._renewed = -1e18  # when the leader lock was last taken or renewed (monotonic)

    async def tick(self) -> float:
        """One whole round: what the two loops of :meth:`run` do, in one call. Returns
        how long to wait before the next one."""
        wait = await self.promotion_round()
        await self.housekeeping_round()
        return wait

    async def promotion_round(self) -> float:
        """Renew (or try to take) the leader lock; while leading, move the due delayed
        jobs. Returns the time until the next one is due (at most a scheduler interval).
        Nothing else is done here: housekeeping never delays a promotion."""
        interval = self.settings.scheduler_interval
        self._after_a_gap(self.clock.time())
        leading = await self._renew_leadership()
        if leading != self.leading:
            self.leading = leading
            state = "is now" if leading else "is no longer"
            log.info("%s %s the scheduler leader", self.name, state)
            kind: EventKind = "leader.gained" if leading else "leader.lost"
            self.events.emit(Event(kind=kind, time=self.clock.time(), worker=self.name))
            self._housekeeping.set()
        if not leading:
            return interval
        began = self.clock.time()
        claimer, requests = self.claimer, []
        if claimer is not None and self._next_due is not None and self._next_due <= began:
            requests = claimer.reserve()  # jobs are due: claim for the idle processors
        try:
            moved, due, claimed = await self._promote(began, requests)
        except BaseException:
            if claimer is not None and requests:
                claimer.deliver(requests, None)
            raise
        if claimer is not None and requests:
            claimer.deliver(requests, claimed)
        unclaimed = moved - sum(claim is not None for claim in claimed)
        if unclaimed > 0:
            for callback in self.on_promote:
                callback(unclaimed)
        self._next_due = due
        self._last_ok = self.clock.time()
        if due is None:
            return interval
        wait = due - self._last_ok
        if moved and moved < PROMOTE_BATCH:
            wait = max(wait, began + ROUND_SPACING - self._last_ok)
        elif wait > LEAD:
            wait -= LEAD  # look ahead first, then again at the due time
        return max(0.0, min(interval, wait))

    async def housekeeping_round(self) -> float:
        """While leading: re-seed lost periodic tasks, and clean the workers that stopped
        pinging (at most once per scheduler interval)."""
        interval = self.settings.scheduler_interval
        if not self.leading:
            return interval
        now = self.clock.time()
        await self.seed_periodic(now)
        if now - self._last_clean >= interval and now >= self._quiet_until:
            self._last_clean = now
            await self.clean_stuck_workers(now)
        return interval

    async def _renew_leadership(self) -> bool:
        """Take or renew the leader lock. A leader that renewed it less than a scheduler
        interval ago (and well within the lock's lifetime) skips the round trip: rounds
        come as often as delayed jobs fall due, which may be every millisecond."""
        settings, now = self.settings, self.clock.monotonic()
        fresh = min(settings.scheduler_interval, settings.leader_lock_timeout / 3)
        if self.leading and now - self._renewed < fresh:
            return True
        leading = await self.backend.acquire_leader(self.name, settings.leader_lock_timeout)
        if leading:
            self._renewed = now
        return leading

    def _after_a_gap(self, now: float) -> None:
        """After a long gap between rounds (a backend outage, a stalled process) every
        worker's last ping looks old: live ones have not been able to ping either. Give
        them one ``stuck_worker_timeout`` to ping again before judging any worker dead."""
        timeout = self.settings.stuck_worker_timeout
        if self._last_ok is not None and now - self._last_ok > timeout / 2:
            self._quiet_until = now + timeout
            log.warning(
                "scheduler: no round for %.0f s; cleaning no stuck worker for the next %.0f s",
                now - self._last_ok, timeout,
            )  # fmt: skip

    async def promote(self, now: float) -> tuple[int, float | None]:
        """Move every job due at ``now``; returns how many moved and when the next one
        is due (as the last round saw it)."""
        moved, due, _ = await self._promote(now, ())
        return moved, due

    async def _promote(
        self, now: float, claims: Sequence[ClaimRequest]
    ) -> tuple[int, float | None, tuple[Claimed | None, ...]]:
        """:meth:`promote`, with ``claims`` made after the first batch of due jobs moved."""
        total, claimed = 0, cast("tuple[Claimed | None, ...]", ())
        while True:
            promotion = await self.backend.promote_round(now, PROMOTE_BATCH, claims)
            if claims:
                claimed, claims = promotion.claimed, ()
            total += promotion.moved
            if promotion.moved < PROMOTE_BATCH:
                return total, promotion.next_due, claimed

    async def seed_periodic(self, now: float) -> None:
        """Re-seed any periodic task that has no copy anywhere (and is not stopped)."""
        for definition in self.registry.periodic():
            payload = codec.encode_job(definition.name, definition.queue, PERIODIC_ARGS)
            if await self.backend.ensure_delayed(definition.name, definition.queue, payload, now):
                log.info("seeded periodic task %s", definition.name)
                self.events.emit(Event(
                    kind="job.reenqueue", time=now, queue=definition.queue,
                    detail={"task": definition.name, "reason": "periodic task seeded"},
                ))  # fmt: skip

    async def clean_stuck_workers(self, now: float) -> None:
        limit = now - self.settings.stuck_worker_timeout
        for record in await self.backend.worker_records():
            # Workers that never ping (node-resque 4, as Stellar runs it, and Ruby Resque)
            # cannot be judged alive or dead: leave them to clean_old_workers(age), as
            # node-resque 9's scheduler does. Ours ping from the moment they register.
            seen = record.ping
            if seen is None or seen >= limit:
                continue
            log.warning("worker %s has not pinged for %.0f s: cleaning it", record.name, now - seen)
            try:
                failure = await force_clean_worker(
                    self.backend, record.name, cleaner=self.name, now=now,
                    reason=f"no ping for {now - seen:.0f} s", queues=record.queues,
                    requeue=self.settings.retry_stuck_jobs,
                )  # fmt: skip
                self.events.emit(Event(
                    kind="worker.cleaned", time=now, worker=record.name,
                    job=failure.job if failure else None, detail={"cleaner": self.name},
                ))  # fmt: skip
            except Exception as exc:  # one bad record must not stop the scheduler
                log.error("could not clean worker %s: %s", record.name, exc)

    async def listen(self) -> float:
        """One wait of the wake-up listener: while leading, wait for the backend's
        ``delayed`` signal (a job due before every other was filed, by any process) and
        cut the scheduler's sleep short, so that it never sleeps past a nearer job."""
        if not self.leading:
            return self.settings.scheduler_interval
        if await self.backend.wait_for("delayed", self.settings.scheduler_interval) is not None:
            self._wake.set()
        return 0.0

    async def run(self, stop: asyncio.Event) -> None:
        helpers = [
            asyncio.create_task(
                drive(self.listen, stop=stop, log=log, what="scheduler wake-up listener")
            ),
            asyncio.create_task(
                drive(self.housekeeping_round, stop=stop, log=log,
                      what="scheduler housekeeping", wake=self._housekeeping)
            ),
        ]  # fmt: skip
        try:
            await drive(self.promotion_round, stop=stop, log=log, what="scheduler",
                        wake=self._wake)  # fmt: skip
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            try:
                await self.backend.release_leader(self.name)
            except Exception as exc:
                log.error("scheduler: could not release the leader lock: %s", exc)
