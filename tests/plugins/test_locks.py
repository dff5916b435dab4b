"""JobLock, QueueLock and DelayQueueLock on every backend: node-resque 9's keys, values
and semantics, and options that really apply."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from stellar import Plugin, PluginContext, Task
from stellar.backends import Backend
from stellar.codec import encode_job
from stellar.plugins import DelayQueueLock, JobLock, QueueLock
from tests.plugins.rig import Rig

PARAMS = {"a": 1, "b": "é ü"}
ARGS_JSON = '[{"a":1,"b":"é ü"}]'


def expiry(rig: Rig, timeout: float) -> str:
    """node-resque's lock value: Math.round(now) + timeout + 1."""
    return str(math.floor(rig.clock.time() + 0.5) + int(timeout) + 1)


class Blocker:
    """A task body that runs until released; counts its runs."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.runs = 0

        async def run(api: Any, params: Any) -> None:
            self.runs += 1
            self.started.set()
            await self.release.wait()

        self.run = run


# ----------------------------------------------------------------- QueueLock
async def test_queue_lock_refuses_a_second_copy_until_a_worker_takes_it(backend: Backend) -> None:
    ran: list[Any] = []
    t = Task(name="p.q", description="d", run=lambda api, p: ran.append(p), plugins=[QueueLock()])
    rig = Rig(backend, [t])
    assert await rig.tasks.enqueue("p.q", PARAMS) is True
    assert await rig.tasks.enqueue("p.q", PARAMS) is False  # vetoed: a copy is queued
    assert await rig.tasks.enqueue("p.q", {"a": 2}) is True  # other params, other lock
    key = f"lock:p.q:default:{ARGS_JSON}"
    locks = await backend.locks()
    assert locks[key] == expiry(rig, 3600)
    assert set(locks) == {key, 'lock:p.q:default:[{"a":2}]'}
    assert await backend.length("default") == 2
    worker = await rig.worker()
    assert await worker.tick()  # before_perform releases the lock (node-resque >= 5.1)
    assert key not in await backend.locks()
    assert await rig.tasks.enqueue("p.q", PARAMS) is True
    assert await backend.length("default") == 2


async def test_queue_lock_timeout_option_applies(backend: Backend) -> None:
    t = Task(name="p.q", description="d", run=lambda api, p: None,
             plugins=[QueueLock(lock_timeout=0.4)])  # fmt: skip
    rig = Rig(backend, [t])
    assert await rig.tasks.enqueue("p.q") is True
    key = "lock:p.q:default:[{}]"
    value = (await backend.locks())[key]
    assert float(value) == pytest.approx(math.floor(rig.clock.time() + 0.5) + 0.4 + 1)
    assert await rig.tasks.enqueue("p.q") is False
    await asyncio.sleep(0.5)  # the lock's own time to live (the backend's clock) ran out
    assert key not in await backend.locks()
    assert await rig.tasks.enqueue("p.q") is True
    assert await backend.length("default") == 2


async def test_queue_lock_takes_over_a_stale_lock_without_ttl_semantics(backend: Backend) -> None:
    t = Task(name="p.q", description="d", run=lambda api, p: None, plugins=[QueueLock()])
    rig = Rig(backend, [t])
    key = "lock:p.q:default:[{}]"
    # node-resque 4 wrote QueueLock keys with no TTL: the value alone says it is stale
    await backend.set_lock(key, str(int(rig.clock.time()) - 5), 3600)
    assert await rig.tasks.enqueue("p.q") is True
    assert (await backend.locks())[key] == expiry(rig, 3600)
    # a value in the future holds
    await backend.set_lock(key, str(int(rig.clock.time()) + 100), 3600)
    assert await rig.tasks.enqueue("p.q") is False


async def test_queue_lock_custom_keys(backend: Backend) -> None:
    fixed = QueueLock(key="lock:mine")
    by_ctx = QueueLock(key=lambda ctx: f"lock:by-queue:{ctx.queue}")
    tasks = [
        Task(name="p.a", description="d", run=lambda api, p: None, plugins=[fixed]),
        Task(name="p.b", description="d", run=lambda api, p: None, plugins=[by_ctx]),
    ]
    rig = Rig(backend, tasks)
    assert await rig.tasks.enqueue("p.a", {"x": 1}) is True
    assert await rig.tasks.enqueue("p.a", {"x": 2}) is False  # one key for every params
    assert await rig.tasks.enqueue("p.b", {"x": 1}, queue="other") is True
    assert await rig.tasks.enqueue("p.b", {"x": 2}, queue="other") is False
    assert await rig.tasks.enqueue("p.b", {"x": 2}) is True
    assert sorted(await backend.locks()) == ["lock:by-queue:default", "lock:by-queue:other",
                                             "lock:mine"]  # fmt: skip


# ------------------------------------------------------------------- JobLock
async def test_job_lock_delays_a_copy_while_one_runs(backend: Backend) -> None:
    body = Blocker()
    lock = JobLock()
    t = Task(name="p.j", description="d", run=body.run, plugins=[lock])
    rig = Rig(backend, [t])
    first, second = await rig.worker(), await rig.worker()
    await rig.tasks.enqueue("p.j", PARAMS)
    await rig.tasks.enqueue("p.j", PARAMS)
    running = asyncio.create_task(first.tick())
    await asyncio.wait_for(body.started.wait(), 5)
    key = f"workerslock:p.j:default:{ARGS_JSON}"
    assert (await backend.locks())[key] == expiry(rig, 3600)
    assert await second.tick()  # claimed the copy, JobLock vetoed it
    payload = encode_job("p.j", "default", [PARAMS])
    assert await backend.scheduled_at(payload) == [math.ceil(rig.clock.time() + 1.001)]
    assert await backend.working_on(second.name, second.queues) is None
    assert key in await backend.locks(), "the vetoed copy must not release the running one's lock"
    body.release.set()
    assert await asyncio.wait_for(running, 5)
    assert key not in await backend.locks()
    assert body.runs == 1
    stats = await rig.stats()
    assert stats.get("processed") == 1 and stats.get("failed", 0) == 0  # a veto counts nothing
    [event] = rig.kinds("job.reenqueue")
    assert event.worker == second.name and event.detail["lock"] == key
    # the delayed copy runs later, once
    rig.clock.advance(2)
    assert await rig.promote() == 1
    assert await second.tick()
    assert body.runs == 2


async def test_job_lock_options_apply(backend: Backend) -> None:
    body = Blocker()
    t = Task(name="p.j", description="d", run=body.run,
             plugins=[JobLock(lock_timeout=120, enqueue_timeout=30)])  # fmt: skip
    rig = Rig(backend, [t])
    first, second = await rig.worker(), await rig.worker()
    await rig.tasks.enqueue("p.j")
    await rig.tasks.enqueue("p.j")
    running = asyncio.create_task(first.tick())
    await asyncio.wait_for(body.started.wait(), 5)
    key = "workerslock:p.j:default:[{}]"
    assert (await backend.locks())[key] == expiry(rig, 120)
    assert await second.tick()
    payload = encode_job("p.j", "default", [{}])
    assert await backend.scheduled_at(payload) == [math.ceil(rig.clock.time() + 30)]
    body.release.set()
    await running


async def test_job_lock_without_re_enqueue_drops_the_copy(backend: Backend) -> None:
    body = Blocker()
    t = Task(name="p.j", description="d", run=body.run, plugins=[JobLock(re_enqueue=False)])
    rig = Rig(backend, [t])
    first, second = await rig.worker(), await rig.worker()
    await rig.tasks.enqueue("p.j")
    await rig.tasks.enqueue("p.j")
    running = asyncio.create_task(first.tick())
    await asyncio.wait_for(body.started.wait(), 5)
    assert await second.tick()
    assert await backend.timestamps() == []
    assert await backend.length("default") == 0
    body.release.set()
    await running
    assert body.runs == 1
    assert await backend.failed_count() == 0


async def test_job_lock_lock_timeout_applies_to_the_lock_itself(backend: Backend) -> None:
    body = Blocker()
    t = Task(name="p.j", description="d", run=body.run, plugins=[JobLock(lock_timeout=0.3)])
    rig = Rig(backend, [t])
    first, second = await rig.worker(), await rig.worker()
    await rig.tasks.enqueue("p.j")
    await rig.tasks.enqueue("p.j")
    running = asyncio.create_task(first.tick())
    await asyncio.wait_for(body.started.wait(), 5)
    await asyncio.sleep(0.4)  # longer than lock_timeout: the lock expired by itself
    assert await backend.locks() == {}
    second_run = asyncio.create_task(second.tick())
    await asyncio.sleep(0.05)
    assert body.runs == 2, "a lock past lock_timeout no longer holds a copy back"
    body.release.set()
    await asyncio.gather(running, second_run)


@pytest.mark.parametrize("outcome", ["raises", "times out"])
async def test_job_lock_is_released_after_a_failure(backend: Backend, outcome: str) -> None:
    async def bad(api: Any, params: Any) -> None:
        if outcome == "raises":
            raise RuntimeError("no")
        await asyncio.sleep(10)

    t = Task(name="p.j", description="d", run=bad, plugins=[JobLock()], timeout=0.05)
    rig = Rig(backend, [t])
    worker = await rig.worker()
    await rig.tasks.enqueue("p.j")
    assert await worker.tick()
    assert await backend.locks() == {}
    [failed] = await rig.tasks.failed()
    assert failed.exception == ("RuntimeError" if outcome == "raises" else "JobTimeout")


async def test_job_lock_is_released_when_a_later_plugin_vetoes(backend: Backend) -> None:
    class Refuse(Plugin):
        async def before_perform(self, ctx: PluginContext) -> bool:
            return False

    ran: list[int] = []
    t = Task(name="p.j", description="d", run=lambda api, p: ran.append(1),
             plugins=[JobLock(), Refuse()])  # fmt: skip
    rig = Rig(backend, [t])
    worker = await rig.worker()
    await rig.tasks.enqueue("p.j")
    assert await worker.tick()
    assert ran == []
    assert await backend.locks() == {}, "JobLock's after_interrupt gives its lock back"
    assert await backend.working_on(worker.name, worker.queues) is None
    assert await rig.stats() == {}


# ------------------------------------------------------------ DelayQueueLock
async def test_delay_queue_lock_refuses_while_a_delayed_copy_exists(backend: Backend) -> None:
    t = Task(name="p.d", description="d", run=lambda api, p: None, plugins=[DelayQueueLock()])
    rig = Rig(backend, [t])
    await rig.tasks.enqueue_in(60, "p.d", PARAMS)  # enqueue_in runs no plugins
    assert await rig.tasks.enqueue("p.d", PARAMS) is False
    assert await rig.tasks.enqueue("p.d", {"other": True}) is True
    assert await backend.locks() == {}  # it keeps no lock of its own
    await rig.tasks.delete_delayed("default", "p.d", PARAMS)
    assert await rig.tasks.enqueue("p.d", PARAMS) is True
    assert await backend.length("default") == 2


# --------------------------------------------------------------------- wire
async def test_lock_keys_match_node_resque_for_awkward_args(backend: Backend) -> None:
    """The args part is JSON.stringify(args): index keys first, JS numbers, no escapes."""
    params = {"b": 1.0, "10": "x", "2": [1e21, 1e-7], "é": "\u2028"}
    t = Task(name="p.q", description="d", run=lambda api, p: None, plugins=[QueueLock()])
    rig = Rig(backend, [t])
    await rig.tasks.enqueue("p.q", params)
    [key] = await backend.locks()
    assert key == 'lock:p.q:default:[{"2":[1e+21,1e-7],"10":"x","b":1,"é":"\u2028"}]'


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="lock_timeout"):
        JobLock(lock_timeout=0)
    with pytest.raises(TypeError, match="enqueue_timeout"):
        JobLock(enqueue_timeout="soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="re_enqueue"):
        JobLock(re_enqueue="no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key"):
        QueueLock(key=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lock_timeout"):
        QueueLock(lock_timeout=float("inf"))
    from datetime import timedelta

    assert JobLock(lock_timeout=timedelta(minutes=2)).lock_timeout == 120
    assert "lock_timeout=120" in repr(JobLock(lock_timeout=120))
