"""A worker whose backend fails at the worst moments loses nothing and runs nothing twice
it does not have to: the outcome of a job is stored once the backend answers, a claim
whose answer was lost is put back, and a worker taken for dead re-registers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from stellar import BackendUnavailable, Task
from stellar.backends import Backend
from stellar.maintenance import force_clean_worker
from stellar.plugins import JobLock
from tests.plugins.rig import Rig


class Unreliable:
    """A backend whose methods fail on demand: ``down`` ones before doing anything,
    ``lost`` ones after doing their work (the answer never arrives)."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.down: set[str] = set()
        self.lost: set[str] = set()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            if name in self.down:
                raise BackendUnavailable(f"{name}: connection refused")
            result = await attr(*args, **kwargs)
            if name in self.lost:
                self.lost.discard(name)
                raise BackendUnavailable(f"{name}: connection reset before the answer")
            return result

        return call


def counting_task(runs: list[Any], name: str = "o.count", **kw: Any) -> Task:
    async def run(api: Any, params: Any) -> None:
        runs.append(params)

    return Task(name=name, description="d", run=run, **kw)


async def until(check: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.001)


async def test_outcome_is_stored_once_the_backend_is_back(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[Any] = []
    flaky = Unreliable(backend)
    rig = Rig(flaky, [counting_task(runs)])  # type: ignore[arg-type]
    worker = await rig.worker()
    await rig.tasks.enqueue("o.count", {"n": 1})
    await rig.tasks.enqueue("o.count", {"n": 2})
    flaky.down = {"finish"}
    start = rig.clock.time()
    ticking = asyncio.create_task(worker.tick())
    await until(lambda: flaky.calls.count("finish") >= 5)
    # still down: it keeps trying to store job 1, with growing waits, and claims nothing
    assert not ticking.done() and worker.busy
    assert runs == [{"n": 1}]
    assert flaky.calls.count("claim") == 1
    assert await backend.length("default") == 1
    assert rig.clock.time() - start >= 0.05 + 0.1 + 0.2 + 0.4  # the backoff (fake time)
    flaky.down = set()
    assert await asyncio.wait_for(ticking, 5)
    assert await worker.tick()
    assert runs == [{"n": 1}, {"n": 2}]
    assert await rig.stats() == {"processed": 2}
    assert await backend.working_on(worker.name, worker.queues) is None
    down = [r for r in caplog.records if "backend unavailable" in r.getMessage()]
    assert len(down) == 1, "logged once, not per attempt"


async def test_a_failure_survives_an_outage_while_it_is_stored(backend: Backend) -> None:
    async def bad(api: Any, params: Any) -> None:
        raise ValueError("really failed")

    flaky = Unreliable(backend)
    rig = Rig(flaky, [Task(name="o.bad", description="d", run=bad)])  # type: ignore[arg-type]
    worker = await rig.worker()
    await rig.tasks.enqueue("o.bad")
    flaky.down = {"finish"}
    ticking = asyncio.create_task(worker.tick())
    await until(lambda: flaky.calls.count("finish") >= 3)
    flaky.down = set()
    assert await asyncio.wait_for(ticking, 5)
    [failed] = await rig.tasks.failed()
    assert failed.error == "really failed"
    assert await rig.stats() == {"failed": 1}


async def test_a_claim_whose_answer_was_lost_goes_back_to_the_head(backend: Backend) -> None:
    runs: list[Any] = []
    flaky = Unreliable(backend)
    rig = Rig(flaky, [counting_task(runs)])  # type: ignore[arg-type]
    worker = await rig.worker()
    await rig.tasks.enqueue("o.count", {"n": 1})
    await rig.tasks.enqueue("o.count", {"n": 2})
    flaky.lost = {"claim"}
    with pytest.raises(BackendUnavailable):
        await worker.tick()
    assert await backend.working_on(worker.name, worker.queues) is not None  # it did happen
    assert await worker.tick()
    assert await worker.tick()
    assert runs == [{"n": 1}, {"n": 2}], "the lost claim was put back at the head, in order"
    assert await rig.stats() == {"processed": 2}


async def test_a_lost_settle_answer_is_not_settled_twice(backend: Backend) -> None:
    runs: list[Any] = []
    flaky = Unreliable(backend)
    rig = Rig(flaky, [counting_task(runs)])  # type: ignore[arg-type]
    worker = await rig.worker()
    await rig.tasks.enqueue("o.count")
    flaky.lost = {"finish"}
    assert await worker.tick()  # the record is gone: the finish did happen
    assert flaky.calls.count("finish") == 1
    assert await rig.stats() == {"processed": 1}
    assert runs == [{}]


async def test_a_worker_cleaned_as_dead_during_an_outage(backend: Backend) -> None:
    """The scheduler took the worker for dead (no pings) and moved its job to the failed
    list; when the backend answers again the worker drops its own outcome (the job is
    accounted for once) and registers again so that it is never an invisible worker."""
    runs: list[Any] = []
    flaky = Unreliable(backend)
    rig = Rig(flaky, [counting_task(runs)])  # type: ignore[arg-type]
    worker = await rig.worker()
    await rig.tasks.enqueue("o.count")
    flaky.down = {"finish"}
    ticking = asyncio.create_task(worker.tick())
    await until(lambda: flaky.calls.count("finish") >= 2)
    failure = await force_clean_worker(
        backend, worker.name, cleaner="sched", now=time.time(), reason="no ping"
    )
    assert failure is not None and failure.exception == "WorkerDied"
    assert worker.name not in await backend.workers()
    flaky.down = set()
    assert await asyncio.wait_for(ticking, 5)
    assert worker.name in await backend.workers()
    assert await rig.stats() == {"failed": 1}  # not also counted as processed
    assert [f.exception for f in await rig.tasks.failed()] == ["WorkerDied"]


async def test_a_slow_job_cleaned_meanwhile_is_not_settled_over_the_cleanup(
    backend: Backend,
) -> None:
    release = asyncio.Event()

    async def slow(api: Any, params: Any) -> None:
        await release.wait()

    rig = Rig(backend, [Task(name="o.slow", description="d", run=slow)],
              stuck_worker_timeout=10, retry_stuck_jobs=True)  # fmt: skip
    worker = await rig.worker()
    await rig.tasks.enqueue("o.slow")
    running = asyncio.create_task(worker.tick())
    await asyncio.sleep(0.05)
    rig.clock.advance(30)  # the job runs long; its pings stopped (a blocked loop, say)
    await force_clean_worker(
        backend, worker.name, cleaner="sched", now=rig.clock.time(), reason="no ping",
        requeue=True,
    )  # fmt: skip
    assert await backend.length("default") == 1  # back in its queue for another worker
    release.set()
    assert await running
    assert await rig.stats() == {}, "the requeued copy will count when it runs"
    assert worker.name in await backend.workers()


async def test_unregister_settles_first(backend: Backend) -> None:
    runs: list[Any] = []
    flaky = Unreliable(backend)
    rig = Rig(flaky, [counting_task(runs)])  # type: ignore[arg-type]
    worker = await rig.worker()
    await rig.tasks.enqueue("o.count")
    flaky.down = {"finish"}
    ticking = asyncio.create_task(worker.tick())
    await until(lambda: flaky.calls.count("finish") >= 2)
    ticking.cancel()  # shutdown gives up waiting for the backend
    with pytest.raises(asyncio.CancelledError):
        await ticking
    assert worker.unsettled
    with pytest.raises(BackendUnavailable):
        await worker.unregister()  # cannot settle: the registration stays for the cleanup
    assert worker.name in await backend.workers()
    flaky.down = set()
    await worker.unregister()
    assert await backend.workers() == {}
    assert await rig.stats() == {"processed": 1}


async def test_shutdown_interrupt_releases_the_job_and_its_lock(backend: Backend) -> None:
    started = asyncio.Event()

    async def forever(api: Any, params: Any) -> None:
        started.set()
        await asyncio.sleep(60)

    t = Task(name="o.forever", description="d", run=forever, plugins=[JobLock()])
    rig = Rig(backend, [t])
    worker = await rig.worker()
    await rig.tasks.enqueue("o.forever", {"n": 1})
    await rig.tasks.enqueue("o.forever", {"n": 2})
    running = asyncio.create_task(worker.tick())
    await asyncio.wait_for(started.wait(), 5)
    assert len(await backend.locks()) == 1
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert await backend.locks() == {}
    assert [j.params for j in await rig.tasks.queued("default")] == [{"n": 1}, {"n": 2}]
    await worker.unregister()
    assert await backend.workers() == {}


async def test_shutdown_with_the_backend_down_leaves_the_job_to_the_cleanup(
    backend: Backend,
) -> None:
    started = asyncio.Event()

    async def forever(api: Any, params: Any) -> None:
        started.set()
        await asyncio.sleep(60)

    flaky = Unreliable(backend)
    rig = Rig(flaky, [Task(name="o.forever", description="d", run=forever)])  # type: ignore[arg-type]
    worker = await rig.worker()
    await rig.tasks.enqueue("o.forever")
    running = asyncio.create_task(worker.tick())
    await asyncio.wait_for(started.wait(), 5)
    flaky.down = {"release", "working_on", "unregister_worker"}
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    with pytest.raises(BackendUnavailable):
        await worker.unregister()
    # the job is still recorded on the (registered) worker: the stuck-worker cleanup of
    # the scheduler will move it, so it is not lost
    assert await backend.working_on(worker.name, worker.queues) is not None
    assert worker.name in await backend.workers()
