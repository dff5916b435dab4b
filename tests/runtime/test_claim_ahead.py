"""A worker of a pool takes its next job in the same round trip as it settles the last
one (``Backend.finish_and_claim``). That job is in the worker's working-on record from
then on, so nothing may lose it: not a lost answer, not a retirement, not a shutdown."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import pytest

from stellar.backends import Backend
from stellar.events import Event
from stellar.runtime.pool import Batcher, ProcessorPool
from stellar.runtime.worker import Worker
from tests.plugins.rig import Rig
from tests.runtime.test_outage_worker import Unreliable, counting_task


async def numbers(backend: Backend) -> list[int]:
    """The jobs waiting in ``default``, by their number."""
    return [json.loads(q)["args"][0]["n"] for q in await backend.queued("default")]


async def pooled_worker(backend: Backend, jobs: int) -> tuple[list[Any], Unreliable, Rig, Worker]:
    """A worker talking to the backend (made unreliable on demand) through a pool's
    batcher, watching as it does while the pool runs, and ``jobs`` jobs queued."""
    runs: list[Any] = []
    flaky = Unreliable(backend)
    rig = Rig(flaky, [counting_task(runs)])  # type: ignore[arg-type]
    batcher = Batcher(flaky, rig.clock, poll=0.01)  # type: ignore[arg-type]
    batcher.watching = True
    rig.backend = cast(Backend, batcher)
    worker = await rig.worker(["default"])
    for n in range(1, jobs + 1):
        await rig.tasks.enqueue("o.count", {"n": n})
    return runs, flaky, rig, worker


async def test_the_next_job_rides_with_the_settle(backend: Backend) -> None:
    runs, flaky, rig, worker = await pooled_worker(backend, 3)
    assert await worker.tick()
    # job 1 settled and job 2 claimed in one call: job 2 is already this worker's
    assert flaky.calls.count("finish_and_claim") == 1
    record = await backend.working_on(worker.name, worker.queues)
    assert record is not None and '"n":2' in record
    assert await backend.length("default") == 1
    assert await worker.tick() and await worker.tick()
    assert runs == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert flaky.calls.count("claim") == 1  # only the first job needed a claim of its own
    assert await rig.stats() == {"processed": 3}


async def test_a_lost_answer_puts_the_job_claimed_ahead_back(backend: Backend) -> None:
    runs, flaky, rig, worker = await pooled_worker(backend, 3)
    flaky.lost = {"finish_and_claim"}  # settled and claimed, but the answer never came
    assert await worker.tick()
    # the worker saw its record hold job 2, which it never heard of: back to the head
    assert await numbers(backend) == [2, 3]
    assert await worker.tick() and await worker.tick()
    assert runs == [{"n": 1}, {"n": 2}, {"n": 3}], "each once, in order"
    assert await rig.stats() == {"processed": 3}


async def test_an_outage_during_the_settle_loses_nothing(backend: Backend) -> None:
    runs, flaky, rig, worker = await pooled_worker(backend, 2)
    flaky.down = {"finish_and_claim"}
    ticking = asyncio.create_task(worker.tick())
    async with asyncio.timeout(5):
        while flaky.calls.count("finish_and_claim") < 3:
            await asyncio.sleep(0.001)
    assert not ticking.done() and await numbers(backend) == [2]  # nothing claimed meanwhile
    flaky.down = set()
    assert await asyncio.wait_for(ticking, 5)
    assert await worker.tick()
    assert runs == [{"n": 1}, {"n": 2}]
    assert await rig.stats() == {"processed": 2}


async def pool_on(backend: Backend, runs: list[Any]) -> tuple[ProcessorPool, Rig]:
    rig = Rig(backend, [counting_task(runs)], min_processors=1, max_processors=1)
    pool = ProcessorPool(
        backend=backend, registry=rig.registry, api=rig.api, clock=rig.clock,
        settings=rig.settings, queues=["default"], name="p", events=rig.events,
    )  # fmt: skip
    return pool, rig


@pytest.mark.parametrize("how", ["shutdown", "retire"])
async def test_stopping_with_a_job_claimed_ahead(backend: Backend, how: str) -> None:
    """At shutdown the job claimed along with the last settle goes back to the head of
    its queue, unrun; a retired worker runs it (as it would have) before it leaves."""
    runs: list[Any] = []
    pool, rig = await pool_on(backend, runs)
    for n in (1, 2, 3):
        await rig.tasks.enqueue("o.count", {"n": n})

    stopped: list[str] = []

    def first_done(event: Event) -> None:
        # job 1's outcome is stored: job 2 was claimed with it and is held for the worker
        if event.kind == "job.success" and not stopped:
            stopped.append(str(event.worker))
            pool.stop_claiming() if how == "shutdown" else pool.remove()

    rig.events.subscribe(first_done)
    running = asyncio.create_task(pool.run(asyncio.Event()))
    try:
        async with asyncio.timeout(5):
            if how == "shutdown":
                while not stopped or await backend.workers():
                    await asyncio.sleep(0.001)
            else:  # a new worker replaces the retired one and runs the rest
                while len(runs) < 3 or not all(s.task and s.task.done() for s in pool.retiring):
                    await asyncio.sleep(0.001)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    if how == "shutdown":
        assert runs == [{"n": 1}]
        assert await numbers(backend) == [2, 3]  # job 2 back at the head, unrun
    else:
        assert sorted(r["n"] for r in runs) == [1, 2, 3]  # each once
        assert await numbers(backend) == []
        # the retired worker ran job 2 itself before it left
        order = [(e.kind, e.job.args[0]["n"] if e.job else None) for e in rig.seen]
        assert order.index(("job.start", 2)) < order.index(("worker.end", None))
    if how == "shutdown":
        assert await backend.working_on(stopped[0], "default") is None
    assert await rig.stats() == {"processed": len(runs)}
