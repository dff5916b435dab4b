"""The task processors of one process: ``min..max`` workers, scaled by load and loop lag.

Every ``check_interval`` the pool measures the event loop's lag (how late its own timer
fired) and adds one worker when more than half are busy and the lag is under
``max_loop_lag``, or removes the last one when the loop lags or fewer than half are busy
(node-resque's MultiWorker rules). It also pings its workers every ``ping_interval``.

Two things keep the cost per job low and idle workers quick:

* The workers reach the backend through a :class:`Batcher`: the claims (and the plain
  settles) that several workers make in the same turn of the event loop go to the backend
  as one ``claim_many`` (``finish_many``), one round trip on Redis. Each worker still
  claims one job and settles it itself; only the trip is shared.
* While workers are idle, one of them (the *watcher*) polls with
  ``Backend.wait_and_claim``: it waits for the backend's ``queued`` signal (a push,
  release, retry or promotion by any process) and claims in the same round trip, so a job
  queued by another process starts at once. A watcher that gets a job wakes the next idle
  worker (which takes the watch over when it finds nothing), so a burst soon has every
  worker on it. Jobs pushed in this process wake an idle worker directly
  (:meth:`ProcessorPool.wake`). When its scheduler moves due jobs, the round itself
  claims for the idle workers (:meth:`ProcessorPool.reserve`, :meth:`ProcessorPool.deliver`)
  and as many other idle workers as jobs are left wake up (:meth:`ProcessorPool.promoted`).
  The other idle workers poll every ``poll_interval``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from stellar.backends.protocol import Backend, Claimed, ClaimRequest, Settlement
from stellar.clock import Clock
from stellar.config import Settings
from stellar.events import Events
from stellar.runtime.loop import drive
from stellar.runtime.worker import Worker
from stellar.tasks.registry import Registry

log = logging.getLogger("stellar.pool")

_Pending = list[tuple[Any, "asyncio.Future[Any]"]]


class _Batch:
    """The calls of one kind (claims, settles) waiting to go out together."""

    def __init__(self, call: Callable[[list[Any]], Awaitable[list[Any]]]) -> None:
        self.call = call
        self.pending: _Pending = []
        self.sending: asyncio.Task[None] | None = None  # the batch on its way


class Batcher:
    """The backend as a pool's workers see it: every call goes straight to ``backend``,
    except ``claim`` and ``finish`` (without ``reschedule``), which wait for the end of the
    current turn of the event loop and go out together, as one ``claim_many`` or
    ``finish_many`` (group commit: while a batch of one kind is on its way, the next one
    waits for its answer, so a busy process sends fewer, larger batches). A batch of one
    makes the plain call. Each caller gets its own answer, or the batch's error; a caller
    cancelled meanwhile leaves the batch as it is (so its claim may still be made, as a
    plain call's could).

    While :attr:`watching` (the pool runs), one idle worker at a time is the *watcher*:
    its claims are ``wait_and_claim`` calls, a blocking poll that claims the moment any
    process queues a job. When it gets one, :attr:`on_job` is called (the pool wakes the
    next idle worker) and the first worker to find nothing takes the watch over."""

    def __init__(self, backend: Backend, clock: Clock, poll: float = 0.5) -> None:
        self.backend = backend
        self.poll = poll
        self.clock = clock
        self.watching = False
        #: called when the watcher got a job (there may be more: wake another worker)
        self.on_job: Callable[[], None] = lambda: None
        #: called with the queue a signal named (a wildcard worker may not know it yet)
        self.on_signal: Callable[[str], None] = lambda queue: None
        self._claims = _Batch(self._claim_batch)
        self._settles = _Batch(self._settle_batch)
        self._sending: set[asyncio.Task[None]] = set()
        self._queues: asyncio.Future[list[str]] | None = None
        self._woken: set[str] = set()
        self._idle: set[str] = set()  # workers whose last claim found nothing
        self._watcher: str | None = None
        self._recheck = False  # a signal came and the watch found nothing: look again now
        self._made: dict[str, int] = {}
        self._asks: dict[str, tuple[tuple[str, ...], str]] = {}  # each worker's last claim
        self._held: dict[str, Claimed | None] = {}  # claims made with a settle, not taken
        self._leaving: set[str] = set()  # workers that will not claim again
        #: idle workers a scheduler round claims for; set when its answer is in
        self._reserved: dict[str, asyncio.Future[None]] = {}

    @property
    def watch_vacant(self) -> bool:
        """True when an idle worker should take the watch (claim again at once)."""
        return self.watching and self._watcher is None

    def _may_watch(self, worker: str) -> bool:
        """An idle worker's claim becomes the watch when nobody else keeps it."""
        return self.watching and worker in self._idle and self._watcher in (None, worker)

    def claims_made(self, worker: str) -> int:
        """How many claims ``worker`` made through the batcher (to tell a tick that
        claimed nothing from one that claimed and found nothing)."""
        return self._made.get(worker, 0)

    def watches(self, worker: str) -> bool:
        return self._watcher == worker

    async def watch_signal(self, worker: str) -> None:
        """Keep the watch without claiming (``worker`` knows no queue to claim from yet):
        wait for a signal and report the queue it names."""
        self._watcher = worker
        try:
            signal = await self.backend.wait_for("queued", self.poll)
        finally:
            self._watcher = None
        if signal:
            self.on_signal(signal)

    def release_watch(self, worker: str) -> None:
        """``worker`` stops (or goes busy): another idle worker takes the watch over."""
        if self._watcher == worker:
            self._watcher = None
        self._idle.discard(worker)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    async def queues(self) -> list[str]:
        """Workers woken together all ask for the queue names: one read answers them."""
        if self._queues is None:
            self._queues = asyncio.ensure_future(self.backend.queues())
            self._queues.add_done_callback(self._forget_queues)
        return list(await asyncio.shield(self._queues))

    def _forget_queues(self, _: object) -> None:
        self._queues = None

    def _join(self, kind: _Batch, item: Any) -> asyncio.Future[Any]:
        """Add ``item`` to the next batch of ``kind``. A batch goes out at the end of the
        current turn of the event loop, or, while one of its kind is on its way, as soon as
        that one is answered (group commit: the calls made meanwhile go together)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not kind.pending and kind.sending is None:
            loop.call_soon(self._flush, kind)
        kind.pending.append((item, future))
        return future

    def _flush(self, kind: _Batch) -> None:
        if not kind.pending or kind.sending is not None:
            return
        batch, kind.pending = kind.pending, []

        async def send() -> None:
            try:
                results = await kind.call([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                return
            except BaseException:
                for _, future in batch:
                    future.cancel()
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

        task = kind.sending = asyncio.create_task(send())
        self._sending.add(task)
        task.add_done_callback(lambda _: self._sent(kind, task))

    def _sent(self, kind: _Batch, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        kind.sending = None
        self._flush(kind)  # what came in meanwhile

    def woken(self, worker: str) -> None:
        """``worker`` was woken because a job is there: its next claim joins the batch
        of the current turn of the event loop, and never waits as the watcher."""
        self._woken.add(worker)

    async def claim(
        self, queues: Sequence[str], worker: str, worker_queues: str, now: float
    ) -> Claimed | None:
        self._made[worker] = self._made.get(worker, 0) + 1
        woken = worker in self._woken  # woken because jobs are there: take one, never wait
        self._woken.discard(worker)
        self._asks[worker] = (tuple(queues), worker_queues)
        reserved = self._reserved.get(worker)
        if reserved is not None:  # the scheduler's round claims for it
            await asyncio.shield(reserved)
            if worker in self._leaving:
                return None  # it stops: what the round took for it goes back (or, retired, runs)
        if worker in self._held:  # claimed along with its last settle, or by the round
            claim = self._held.pop(worker)
        elif reserved is not None:
            claim = None  # the round found nothing for it (or failed: it reconciles)
        elif not woken and self._may_watch(worker):
            return await self._watch(queues, worker, worker_queues, now)
        else:
            request = (ClaimRequest(worker, worker_queues, tuple(queues)), now)
            claim = cast("Claimed | None", await self._join(self._claims, request))
        if claim is None:
            self._idle.add(worker)
        else:
            self._idle.discard(worker)
        return claim

    async def _watch(
        self, queues: Sequence[str], worker: str, worker_queues: str, now: float
    ) -> Claimed | None:
        self._watcher = worker
        timeout, self._recheck = (0.0 if self._recheck else self.poll), False
        request = ClaimRequest(worker, worker_queues, tuple(queues))
        try:
            signal, [claim] = await self.backend.wait_and_claim([request], now, timeout)
        except BaseException:
            self._watcher = None
            raise
        if signal:
            self.on_signal(signal)
        if claim is None:
            # the signal's job may be in a queue this worker did not know: look again now
            self._recheck = signal is not None
            return None
        self._watcher = None
        self._idle.discard(worker)
        self.on_job()
        return claim

    async def _claim_batch(self, items: list[tuple[ClaimRequest, float]]) -> list[Claimed | None]:
        if len(items) == 1:
            ((request, now),) = items
            return [await self.backend.claim(request.queues, request.worker,
                                             request.worker_queues, now)]  # fmt: skip
        return await self.backend.claim_many([request for request, _ in items], items[0][1])

    async def finish(
        self,
        name: str,
        queues: str,
        *,
        failure: str | None = None,
        reschedule: tuple[str, str, str, float] | None = None,
        discard: bool = False,
    ) -> None:
        if reschedule is not None:  # the ensure step reads first: a call of its own
            await self.backend.finish(
                name, queues, failure=failure, reschedule=reschedule, discard=discard
            )
            return
        settlement = Settlement(name, queues, None if discard else failure, discard)
        await self._join(self._settles, settlement)

    async def _settle_batch(self, items: list[Settlement]) -> list[None]:
        backend = self.backend
        # the workers settling now claim again right after: their next claims ride along
        ahead = [item.worker for item in items if self._may_claim_ahead(item.worker)]
        if ahead:
            asks = [self._asks[name] for name in ahead]
            requests = [ClaimRequest(name, queues, wanted)
                        for name, (wanted, queues) in zip(ahead, asks, strict=True)]  # fmt: skip
            claims = await backend.finish_and_claim(items, requests, self.clock.time())
            self._held.update(zip(ahead, claims, strict=True))
        elif len(items) == 1:
            item = items[0]
            await backend.finish(item.worker, item.worker_queues, failure=item.failure,
                                 discard=item.discard)  # fmt: skip
        else:
            await backend.finish_many(items)
        return [None] * len(items)

    def _may_claim_ahead(self, worker: str) -> bool:
        return (
            self.watching
            and worker in self._asks
            and worker not in self._leaving
            and worker not in self._held
        )

    def reserve(self, worker: str) -> ClaimRequest | None:
        """Let the scheduler's next round claim for idle ``worker`` from the queues of
        its last claim: its next claim waits for that answer instead of making its own.
        None when it must not (it never claimed, it leaves, it holds a job claimed along
        with its last settle, it is the watcher or reserved already)."""
        ask = self._asks.get(worker)
        if (
            ask is None
            or not self.watching
            or worker in self._leaving
            or self._held.get(worker) is not None
            or worker in self._reserved
            or worker == self._watcher
        ):
            return None
        self._reserved[worker] = asyncio.get_running_loop().create_future()
        return ClaimRequest(worker, ask[1], ask[0])

    def deliver(
        self, requests: Sequence[ClaimRequest], claimed: Sequence[Claimed | None] | None
    ) -> None:
        """The round's answer: each job claimed is held for its worker (None: the round
        failed, and its workers must look at their records before claiming again)."""
        for i, request in enumerate(requests):
            claim = None if claimed is None else claimed[i]
            if claim is not None:
                self._held[request.worker] = claim
            future = self._reserved.pop(request.worker, None)
            if future is not None and not future.done():
                future.set_result(None)

    def leave(self, worker: str) -> None:
        """``worker`` stops: it claims nothing more, not even along with a settle."""
        self._leaving.add(worker)

    async def working_on(self, name: str, queues: str) -> str | None:
        """A worker reads its record to reconcile after a failure (or to check that a
        long job is still its own, when it holds nothing ahead). A job claimed for it
        along with a settle and not taken yet is dropped here: the record shows it, and
        the reconcile puts it back at the head of its queue."""
        self._held.pop(name, None)
        return await self.backend.working_on(name, queues)

    async def quiet(self) -> None:
        """Wait for the batches and scheduler rounds on their way (their claims are then
        known)."""
        while self._sending or self._reserved:
            await asyncio.gather(*self._sending, *self._reserved.values(), return_exceptions=True)

    def take_held(self, worker: str) -> Claimed | None:
        """Forget ``worker``; the job claimed for it along with its last settle and not
        taken (it stopped meanwhile), which the caller must put back."""
        self._asks.pop(worker, None)
        self._leaving.discard(worker)
        return self._held.pop(worker, None)


class _Slot:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.stop = asyncio.Event()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.idle = False  # its last look found every queue empty


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
        #: what the workers call: the backend, with claims and settles batched
        self.batcher = Batcher(backend, clock, poll=self.settings.poll_interval)
        self.batcher.on_job = lambda: self._wake(1)
        self.batcher.on_signal = self._queue_seen
        self.lag = 0.0
        self._last_check: float | None = None
        self._last_ping = -1e18
        self._stopping = False  # shutdown() began: held jobs go back instead of running

    @property
    def busy(self) -> int:
        return sum(1 for s in self.slots if s.worker.busy)

    def wake(self, queue: str) -> None:
        """A job was pushed to ``queue`` by this process: wake one idle worker now instead
        of at its next poll. A worker woken this way that finds a job wakes the next idle
        one, so a burst soon has every worker on it while a single job costs one claim,
        not one per idle worker."""
        self._queue_seen(queue)
        self._wake(1)

    def promoted(self, moved: int) -> None:
        """``moved`` due jobs were just moved to their queues: wake as many idle workers
        (not more: the others would only claim nothing). Their claims go out together."""
        self._queue_seen(None)
        self._wake(moved)

    def reserve(self) -> list[ClaimRequest]:
        """For the scheduler (:class:`~stellar.runtime.scheduler.Claimer`): the idle
        workers (asleep, holding nothing, not the watcher) that its round about to move
        due jobs claims for. They wake now and wait for the round's answer."""
        if self._stopping:
            return []
        requests = []
        for slot in self.slots:
            if slot.idle and not slot.wake.is_set() and not slot.worker.unsettled:
                request = self.batcher.reserve(slot.worker.name)
                if request is not None:
                    requests.append(request)
                    slot.wake.set()
        return requests

    def deliver(
        self, requests: Sequence[ClaimRequest], claimed: Sequence[Claimed | None] | None
    ) -> None:
        """The round's answer (None: it failed, so a claim may have been made that no
        worker heard of: those workers look at their records first)."""
        self.batcher.deliver(requests, claimed)
        if claimed is None:
            names = {request.worker for request in requests}
            for slot in self.slots + self.retiring:
                if slot.worker.name in names:
                    slot.worker.claim_unknown()

    def _queue_seen(self, queue: str | None) -> None:
        for slot in self.slots:
            slot.worker.queue_seen(queue)

    def _wake(self, count: int) -> None:
        """Wake up to ``count`` idle workers; their claims join the turn's batch."""
        for slot in self.slots:
            if count <= 0:
                return
            if slot.idle and not slot.wake.is_set():
                self.batcher.woken(slot.worker.name)
                slot.wake.set()
                count -= 1

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
            while len(self.slots) < self.min:  # below the floor: no reason to wait
                await self.add()
        elif action == "-":
            self.remove()
        if now - self._last_ping >= self.settings.ping_interval:
            self._last_ping = now
            wall = self.clock.time()
            self.retiring = [s for s in self.retiring if s.task is not None and not s.task.done()]
            for slot in self.slots + self.retiring:
                await self.backend.ping_worker(slot.worker.name, slot.worker.queues, wall)
        return self.settings.check_interval

    def _free_name(self) -> str:
        """``<pool>+N`` with the smallest N no running or retiring worker holds: a new
        worker must never share the name (so the working-on record) of a retired one
        that is still finishing its job, or either could erase the other's record."""
        held = {s.worker.name for s in self.slots + self.retiring
                if s.task is None or not s.task.done()}  # fmt: skip
        n = 1
        while f"{self.name}+{n}" in held:
            n += 1
        return f"{self.name}+{n}"

    async def add(self) -> Worker:
        worker = Worker(
            name=self._free_name(),
            queues=self.queues,
            backend=cast(Backend, self.batcher),
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

    def remove(self) -> None:
        """Retire the last worker: it finishes its current job, then unregisters."""
        slot = self.slots.pop()
        self.batcher.leave(slot.worker.name)
        slot.stop.set()
        slot.wake.set()
        self.retiring.append(slot)

    async def _work(self, slot: _Slot) -> None:
        worker = slot.worker

        batcher = self.batcher

        async def tick() -> float:
            was_idle, slot.idle = slot.idle, False
            made = batcher.claims_made(worker.name)
            if await worker.tick():
                if was_idle:
                    self._wake(1)  # there may be more: pass it on
                return 0.0
            slot.idle = True
            if batcher.watches(worker.name):
                return 0.0  # the watcher waited in its claim already: watch on
            if batcher.watch_vacant:
                if batcher.claims_made(worker.name) == made:  # no queue known to claim from
                    await batcher.watch_signal(worker.name)
                return 0.0  # take the watch over
            return self.settings.poll_interval

        try:
            await drive(tick, stop=slot.stop, log=log, what=worker.name, wake=slot.wake)
            await self._last_job(worker)
        finally:
            batcher.release_watch(worker.name)
            try:
                await asyncio.shield(self._leave(worker))
            except Exception as exc:  # the backend may be down at shutdown
                log.error("%s: could not unregister: %s", worker.name, exc)

    async def _leave(self, worker: Worker) -> None:
        """Put back the job claimed for ``worker`` along with its last settle if it was
        not taken (shutdown), then unregister. If the backend fails first, the
        registration stays: the stuck-worker cleanup moves that job later."""
        held = await self._held_job(worker)
        if held is not None:
            await self.backend.release(worker.name, worker.queues, held.record)
        await worker.unregister()

    async def _last_job(self, worker: Worker) -> None:
        """A retired worker performs the job claimed for it along with its last settle,
        as it would have (shutdown interrupts it like any job; at shutdown that job goes
        back to its queue instead, in :meth:`_leave`)."""
        if not self._stopping:
            held = await self._held_job(worker)
            if held is not None:
                await worker.work_on(held)

    async def _held_job(self, worker: Worker) -> Claimed | None:
        """Stop ``worker``'s claims ahead; the job one of them took for it, if any."""
        self.batcher.leave(worker.name)
        await self.batcher.quiet()
        return self.batcher.take_held(worker.name)

    async def run(self, stop: asyncio.Event) -> None:
        """Scale and ping until ``stop`` is set, then shut the workers down. While it
        runs, an idle worker watches for jobs queued by other processes (the batcher's
        watch)."""
        self.batcher.watching = True
        try:
            await drive(self.tick, stop=stop, log=log, what="processor pool")
        finally:
            self.batcher.watching = False
            await self.shutdown()

    def stop_claiming(self) -> None:
        """Every worker stops after its current job and claims nothing more; a job
        already claimed along with a settle goes back to the head of its queue."""
        self._stopping = True
        for slot in self.slots + self.retiring:
            self.batcher.leave(slot.worker.name)
            slot.stop.set()
            slot.wake.set()

    async def shutdown(self, timeout: float | None = None) -> None:
        """Stop claiming; let running jobs finish up to ``shutdown_timeout``; then cancel
        what is left (its job goes back to the head of its queue) and unregister."""
        timeout = self.settings.shutdown_timeout if timeout is None else timeout
        self.stop_claiming()
        everyone = self.slots + self.retiring
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
