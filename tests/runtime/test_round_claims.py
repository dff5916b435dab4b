"""A scheduler round that moves due jobs also claims for the idle processors of its own
process (``Backend.promote_round(..., claims)``), so those jobs start without a claim
of the processors' own. A claimed job is in the worker's working-on record from then on:
a lost answer or a shutdown must not lose it, nor run it twice."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import pytest

from stellar.backends import Backend
from stellar.backends.protocol import ClaimRequest, Promotion, Settlement
from stellar.errors import BackendUnavailable
from stellar.runtime.pool import Batcher, ProcessorPool
from stellar.runtime.scheduler import Scheduler
from tests.plugins.rig import Rig
from tests.runtime.test_claim_ahead import numbers, pooled_worker
from tests.runtime.test_outage_worker import Unreliable, counting_task, until


async def running_pool(backend: Backend, runs: list[Any]) -> tuple[ProcessorPool, Rig, Scheduler]:
    """Two processors, idle (one of them the watcher), and a scheduler beside them."""
    rig = Rig(backend, [counting_task(runs)], min_processors=2, max_processors=2)
    pool = ProcessorPool(
        backend=backend, registry=rig.registry, api=rig.api, clock=rig.clock,
        settings=rig.settings, queues=["default"], name="p", events=rig.events,
    )  # fmt: skip
    scheduler = Scheduler(
        backend=backend, registry=rig.registry, clock=rig.clock, settings=rig.settings,
        name="p", events=rig.events,
    )  # fmt: skip
    scheduler.claimer = pool
    scheduler.on_promote.append(pool.promoted)
    return pool, rig, scheduler


def sleeping(pool: ProcessorPool) -> list[str]:
    """The idle workers asleep (not the watcher): those a round may claim for."""
    return [s.worker.name for s in pool.slots if s.idle and not s.wake.is_set()]


async def test_the_round_claims_for_an_idle_processor(backend: Backend) -> None:
    runs: list[Any] = []
    flaky = Unreliable(backend)
    pool, rig, scheduler = await running_pool(cast(Backend, flaky), runs)
    stop = asyncio.Event()
    running = asyncio.create_task(pool.run(stop))
    try:
        await until(lambda: len(pool.slots) == 2 and len(sleeping(pool)) == 1)
        (idle,) = sleeping(pool)
        for n in (1, 2):
            await rig.tasks.enqueue_in(10, "o.count", {"n": n})
        assert await scheduler.promotion_round() > 0  # nothing due yet: the due time known
        promotions: list[tuple[list[ClaimRequest], Promotion]] = []
        promote_round = backend.promote_round

        async def spy(now: float, limit: int = 1000, claims: Any = ()) -> Promotion:
            promotion = await promote_round(now, limit, claims)
            promotions.append((list(claims), promotion))
            return promotion

        flaky.inner = cast(Backend, _With(backend, promote_round=spy))
        rig.clock.advance(10)
        flaky.calls.clear()
        await scheduler.promotion_round()
        await until(lambda: len(runs) == 2)
        ((claims, promotion),) = promotions
        assert [c.worker for c in claims] == [idle]  # the watcher claims on its own
        assert promotion.moved == 2 and promotion.claimed[0] is not None
        # the idle processor took its job from the round: no claim of its own
        assert "claim" not in flaky.calls and "claim_many" not in flaky.calls
        assert sorted(r["n"] for r in runs) == [1, 2]
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    assert await rig.stats() == {"processed": 2}
    assert await backend.length("default") == 0


class _With:
    """``inner`` with some methods replaced."""

    def __init__(self, inner: Backend, **methods: Any) -> None:
        self._inner = inner
        self.__dict__.update(methods)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def reserved_worker(backend: Backend) -> tuple[list[Any], Unreliable, Rig, Any, Batcher]:
    """A pooled worker that claimed once (job 1, run), then sleeps; job 2 falls due."""
    runs, flaky, rig, worker = await pooled_worker(backend, 1)
    assert await worker.tick()
    batcher = cast(Batcher, rig.backend)
    await rig.tasks.enqueue_in(10, "o.count", {"n": 2})
    rig.clock.advance(10)
    return runs, flaky, rig, worker, batcher


async def test_a_job_claimed_by_the_round_runs_once(backend: Backend) -> None:
    runs, flaky, rig, worker, batcher = await reserved_worker(backend)
    request = batcher.reserve(worker.name)
    assert request is not None and batcher.reserve(worker.name) is None  # reserved once
    ticking = asyncio.create_task(worker.tick())  # waits for the round's answer
    await asyncio.sleep(0.01)
    assert not ticking.done()
    promotion = await backend.promote_round(rig.clock.time(), claims=[request])
    batcher.deliver([request], promotion.claimed)
    assert await asyncio.wait_for(ticking, 5)
    assert runs == [{"n": 1}, {"n": 2}]
    assert flaky.calls.count("claim") == 1  # job 1's only


async def test_a_lost_round_answer_puts_the_job_back(backend: Backend) -> None:
    runs, flaky, rig, worker, batcher = await reserved_worker(backend)
    request = batcher.reserve(worker.name)
    assert request is not None
    flaky.lost = {"promote_round"}  # moved and claimed, but the answer never came
    try:
        await flaky.promote_round(rig.clock.time(), claims=[request])
    except BackendUnavailable:
        batcher.deliver([request], None)
        worker.claim_unknown()  # what ProcessorPool.deliver does
    record = await backend.working_on(worker.name, worker.queues)
    assert record is not None and '"n":2' in record  # claimed, unheard of
    # the worker looks at its record before claiming: job 2 goes back, then it claims it
    assert await worker.tick()
    assert runs == [{"n": 1}, {"n": 2}], "job 2 once"
    assert await backend.working_on(worker.name, worker.queues) is None
    assert await rig.stats() == {"processed": 2}


async def test_shutdown_waits_for_the_round_and_puts_its_job_back(backend: Backend) -> None:
    runs: list[Any] = []
    pool, rig, _ = await running_pool(backend, runs)
    stop = asyncio.Event()
    running = asyncio.create_task(pool.run(stop))
    await until(lambda: len(pool.slots) == 2 and len(sleeping(pool)) == 1)
    for n in (1, 2):  # the watcher may take one of them (on Redis, it is woken at once)
        await rig.tasks.enqueue_in(10, "o.count", {"n": n})
    rig.clock.advance(10)
    requests = pool.reserve()
    assert len(requests) == 1
    promotion = await backend.promote_round(rig.clock.time(), claims=requests)
    (claimed,) = promotion.claimed
    assert claimed is not None
    stop.set()  # shutdown begins before the round's answer is delivered
    await asyncio.sleep(0.05)
    assert not running.done(), "the pool waits for the round's answer"
    pool.deliver(requests, promotion.claimed)
    await asyncio.wait_for(running, 10)
    reserved = json.loads(claimed.payload)["args"][0]["n"]
    assert reserved not in [r["n"] for r in runs]  # never run: back in its queue
    assert sorted([*await numbers(backend), *(r["n"] for r in runs)]) == [1, 2]
    assert await numbers(backend) in ([reserved], [1, 2])  # at the head of its queue
    assert await backend.working_on(requests[0].worker, "default") is None
    assert not await backend.workers()


class Gated:
    """A backend whose settles wait at a gate, counting the batches that reach it."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.batches: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def finish(self, name: str, queues: str, **kw: Any) -> None:
        self.batches.append([name])
        await self.gate.wait()

    async def finish_many(self, items: list[Settlement]) -> None:
        self.batches.append([item.worker for item in items])
        await self.gate.wait()


async def test_settles_made_while_a_batch_is_on_its_way_go_out_together(
    backend: Backend,
) -> None:
    gated = Gated(backend)
    batcher = Batcher(cast(Backend, gated), Rig(backend, []).clock)
    first = asyncio.create_task(batcher.finish("w+1", "q"))
    await asyncio.sleep(0.01)
    assert gated.batches == [["w+1"]]
    later = [asyncio.create_task(batcher.finish(f"w+{n}", "q")) for n in (2, 3)]
    await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)  # two turns of the loop: not sent while the first is out
    assert gated.batches == [["w+1"]]
    gated.gate.set()
    await asyncio.wait_for(asyncio.gather(first, *later), 5)
    assert gated.batches == [["w+1"], ["w+2", "w+3"]]


async def test_rounds_that_move_jobs_start_a_spacing_apart(backend: Backend) -> None:
    """Jobs fall due every 0.1 ms: the next round starts ROUND_SPACING after the start
    of the last one (the time its round trip took counts), not after its end."""
    from stellar.runtime.scheduler import ROUND_SPACING

    rig = Rig(backend, [counting_task([])])
    slow = _With(backend)
    promote_round = backend.promote_round

    async def taking_time(now: float, limit: int = 1000, claims: Any = ()) -> Promotion:
        promotion = await promote_round(now, limit, claims)
        rig.clock.advance(0.0006)  # the round trip took 0.6 ms
        return promotion

    slow.promote_round = taking_time
    scheduler = Scheduler(backend=cast(Backend, slow), registry=rig.registry, clock=rig.clock,
                          settings=rig.settings, name="s")  # fmt: skip
    start = rig.clock.time()
    for n in range(50):
        await rig.tasks.enqueue_at(start + 0.01 + n * 0.0001, "o.count", {"n": n})
    rig.clock.advance(0.0105)
    wait = await scheduler.promotion_round()
    assert await backend.length("default") == 6
    assert wait == pytest.approx(ROUND_SPACING - 0.0006, abs=1e-6)
