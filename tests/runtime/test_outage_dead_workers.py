"""Dead workers (a process killed, a host gone): pings stop, and the scheduler's
stuck-worker cleanup moves the job of such a worker to the failed list with a record that
says the worker died, or back to its queue with ``retry_stuck_jobs``. Live workers that
keep pinging are never touched. ``clean_old_workers(age)`` also cleans idle workers whose
pings stopped. Time is driven with a FakeClock: no sleeping."""

from __future__ import annotations

import asyncio
from typing import Any

from stellar import Task
from stellar.backends import Backend
from stellar.codec import encode_job
from stellar.maintenance import FORCE_CLEAN_MARKER
from stellar.runtime.pool import ProcessorPool
from stellar.runtime.scheduler import Scheduler
from tests.plugins.rig import Rig

JOB = encode_job("d.work", "default", [{"n": 1}])


async def nothing(api: Any, params: Any) -> None:
    return None


def make_rig(backend: Backend, run: Any = nothing, **settings: Any) -> Rig:
    options = {"stuck_worker_timeout": 30.0, "ping_interval": 5.0, **settings}
    return Rig(backend, [Task(name="d.work", description="d", run=run)], **options)


def scheduler(rig: Rig) -> Scheduler:
    return Scheduler(backend=rig.backend, registry=rig.registry, clock=rig.clock,
                     settings=rig.settings, name="sched:1", events=rig.events)  # fmt: skip


async def dead_worker_with_a_job(rig: Rig, name: str = "gone:42+1") -> None:
    """A worker that registered, took a job, and then its process died."""
    await rig.backend.register_worker(name, "*", rig.clock.time())
    await rig.backend.push("default", [JOB])
    assert await rig.backend.claim(["default"], name, "*", rig.clock.time()) is not None


async def test_a_dead_worker_s_job_goes_to_the_failed_list(backend: Backend) -> None:
    rig = make_rig(backend)
    await dead_worker_with_a_job(rig)
    sched = scheduler(rig)
    rig.clock.advance(29)
    await sched.tick()
    assert "gone:42+1" in await backend.workers(), "not before stuck_worker_timeout"
    rig.clock.advance(2)
    await sched.tick()
    assert await backend.workers() == {}
    [failed] = await rig.tasks.failed()
    assert failed.exception == "WorkerDied"
    assert failed.error == "Worker Timeout (killed manually): no ping for 31 s"
    assert failed.worker == "gone:42+1" and failed.queue == "default"
    assert failed.payload_text == JOB  # the job, verbatim: it can be retried as it was
    assert failed.backtrace[0].startswith("killed by sched:1 at ")
    assert failed.backtrace[1] == FORCE_CLEAN_MARKER  # what node-resque's retryStuckJobs reads
    assert (await backend.stats())["failed"] == 1
    [cleaned] = rig.kinds("worker.cleaned")
    assert cleaned.worker == "gone:42+1"
    assert await rig.tasks.retry_and_remove_failed(failed)
    assert await backend.queued("default") == [JOB]


async def test_with_retry_stuck_jobs_the_job_goes_back_to_its_queue(backend: Backend) -> None:
    rig = make_rig(backend, retry_stuck_jobs=True)
    await dead_worker_with_a_job(rig)
    await backend.push("default", [encode_job("d.work", "default", [{"n": 0}])])
    rig.clock.advance(31)
    await scheduler(rig).tick()
    assert await backend.workers() == {}
    assert await backend.failed_count() == 0
    assert (await backend.queued("default"))[-1] == JOB  # appended, as node-resque retries
    worker = await rig.worker()
    assert await worker.tick() and await worker.tick()
    assert await rig.stats() == {"processed": 2}


async def test_an_idle_dead_worker_is_unregistered_without_a_record(backend: Backend) -> None:
    rig = make_rig(backend)
    await backend.register_worker("gone:7+1", "*", rig.clock.time())
    rig.clock.advance(31)
    await scheduler(rig).tick()
    assert await backend.workers() == {}
    assert await backend.failed_count() == 0


async def test_a_live_pool_pinging_its_workers_is_never_cleaned(backend: Backend) -> None:
    gate = asyncio.Event()

    async def slow(api: Any, params: Any) -> None:
        await gate.wait()

    rig = make_rig(backend, slow, min_processors=2, max_processors=2, check_interval=1.0)
    pool = ProcessorPool(backend=backend, registry=rig.registry, api=rig.api, clock=rig.clock,
                         settings=rig.settings, queues=["default"], name="live:1")  # fmt: skip
    sched = scheduler(rig)
    await rig.tasks.enqueue("d.work", {"long": True})
    await pool.tick()
    await pool.tick()
    assert len(pool.slots) == 2
    await asyncio.sleep(0.1)  # one of them took the long job
    for _ in range(20):  # 100 s of fake time: the job runs on, the pool keeps pinging
        rig.clock.advance(5)
        await pool.tick()
        await sched.tick()
    assert sorted(await backend.workers()) == ["live:1+1", "live:1+2"]
    assert await backend.failed_count() == 0
    gate.set()
    await pool.shutdown(timeout=5)
    assert await rig.stats() == {"processed": 1}
    assert await backend.workers() == {}


async def test_clean_old_workers_cleans_busy_and_idle_ones_past_the_age(backend: Backend) -> None:
    rig = make_rig(backend)
    await dead_worker_with_a_job(rig, "busy:1+1")
    await backend.register_worker("idle:2+1", "*", rig.clock.time())
    rig.clock.advance(100)
    await backend.register_worker("fresh:3+1", "*", rig.clock.time())
    await backend.ping_worker("fresh:3+1", "*", rig.clock.time())
    cleaned = await rig.tasks.clean_old_workers(60)
    assert set(cleaned) == {"busy:1+1", "idle:2+1"}
    busy = cleaned["busy:1+1"]
    assert busy is not None and busy.exception == "WorkerDied" and busy.payload_text == JOB
    assert cleaned["idle:2+1"] is None  # idle: nothing to fail
    assert list(await backend.workers()) == ["fresh:3+1"]
    assert await backend.failed_count() == 1


async def test_a_new_worker_never_takes_the_name_of_a_retiring_one(backend: Backend) -> None:
    """A retired worker finishes its job under its name; a worker added meanwhile must not
    share that name, or each would erase the other's working-on record (a job in neither
    place: lost if the process then dies)."""
    gate = asyncio.Event()

    async def slow(api: Any, params: Any) -> None:
        await gate.wait()

    rig = make_rig(backend, slow, min_processors=1, max_processors=3)
    pool = ProcessorPool(backend=backend, registry=rig.registry, api=rig.api, clock=rig.clock,
                         settings=rig.settings, queues=["default"], name="p:1")  # fmt: skip
    first, second = await pool.add(), await pool.add()
    await rig.tasks.enqueue("d.work", {"n": 1})
    await rig.tasks.enqueue("d.work", {"n": 2})
    while not (first.busy and second.busy):
        await asyncio.sleep(0.01)
    pool.remove()  # retires the last one, p:1+2, still running its job
    third = await pool.add()
    assert third.name != second.name
    assert third.name == "p:1+3"
    gate.set()
    await pool.shutdown(timeout=5)
    assert await rig.stats() == {"processed": 2}
    assert await backend.workers() == {}
