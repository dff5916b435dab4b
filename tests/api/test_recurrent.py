"""Periodic tasks: enqueue_recurrent, stop_recurrent (a stop that lasts), their errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stellar import App, NotPeriodic, Task, Tasks, UnknownTask
from stellar.codec import encode_job
from tests.api.conftest import AppFactory
from tests.api.helpers import TASKS
from tests.helpers import eventually

TICK = encode_job("t.tick", "default", [{}])


async def copies(tasks: Tasks, task: str = "t.tick", queue: str = "default") -> tuple[int, int]:
    """(queued copies, delayed copies) of a periodic task."""
    queued = sum(1 for job in await tasks.queued(queue) if job.task == task and job.args == ({},))
    return queued, len(await tasks.scheduled_at(queue, task))


async def test_enqueue_recurrent_seeds_one_copy_due_now(client: App) -> None:
    tasks = client.api.tasks
    assert await tasks.enqueue_recurrent("t.tick") is True
    assert await copies(tasks) == (0, 1)
    [due] = await tasks.scheduled_at("default", "t.tick")
    assert abs(due.timestamp() - client.clock.time()) <= 1.0
    assert await tasks.enqueue_recurrent("t.tick") is False  # one copy, never two
    assert await copies(tasks) == (0, 1)


async def test_stop_recurrent_removes_every_copy_and_stays_stopped(client: App) -> None:
    tasks = client.api.tasks
    backend = client.backend
    assert backend is not None
    await tasks.enqueue_recurrent("t.tick")
    await backend.push("default", [TICK, TICK])  # stray queued copies (e.g. another client)
    await tasks.enqueue("t.tick", {"manual": 1})  # not a periodic copy: params differ
    assert await tasks.stop_recurrent("t.tick") == 3
    assert await copies(tasks) == (0, 0)
    assert [j.params for j in await tasks.queued("default")] == [{"manual": 1}]
    assert await tasks.stopped_recurrent() == {"t.tick"}
    assert await tasks.stop_recurrent("t.tick") == 0
    # while stopped, nothing seeds it: not the scheduler's path, not a finishing copy
    assert await backend.ensure_delayed("t.tick", "default", TICK, 0) is False
    assert await tasks.enqueue_recurrent("t.tick") is True  # clears the stop and seeds
    assert await tasks.stopped_recurrent() == set()
    assert await copies(tasks) == (0, 1)


@pytest.mark.parametrize("method", ["enqueue_recurrent", "stop_recurrent"])
async def test_recurrent_calls_refuse_unknown_and_non_periodic_tasks(
    client: App, method: str
) -> None:
    call = getattr(client.api.tasks, method)
    with pytest.raises(UnknownTask, match="'t.nope'"):
        await call("t.nope")
    with pytest.raises(NotPeriodic, match="'t.echo' has no frequency"):
        await call("t.echo")
    assert await client.api.tasks.stopped_recurrent() == set()
    assert await client.api.tasks.timestamps() == []


async def test_a_stop_lasts_across_restarts_until_enqueue_recurrent(make_app: AppFactory) -> None:
    async with make_app(processors=False, scheduler=False) as app:
        await app.api.tasks.stop_recurrent("t.tick")
    async with make_app(processors=False, scheduler=True) as app:
        tasks = app.api.tasks
        assert app.scheduler is not None
        for _ in range(3):
            await app.scheduler.tick()
        assert await copies(tasks) == (0, 0)  # stopped: not re-seeded by a new scheduler
        assert sum(await copies(tasks, "t.tock", "slow")) == 1  # the other one is
        assert await tasks.stopped_recurrent() == {"t.tick"}
        assert await tasks.enqueue_recurrent("t.tick") is True
        await app.scheduler.tick()
        assert sum(await copies(tasks)) == 1


async def test_a_running_copy_does_not_reseed_a_stopped_task(make_app: AppFactory) -> None:
    running = asyncio.Event()
    release = asyncio.Event()

    async def slow(api: Any, params: Any) -> None:
        running.set()
        await release.wait()

    tick = Task(name="t.tick", description="slow periodic", run=slow, frequency=0.1)
    others = [t for t in TASKS if t.name != "t.tick"]
    async with make_app([tick, *others], max_processors=1) as app:
        tasks = app.api.tasks
        await tasks.enqueue_recurrent("t.tick")  # the scheduler moves it, a worker runs it
        await asyncio.wait_for(running.wait(), 5)
        assert await tasks.stop_recurrent("t.tick") == 0  # nothing queued or delayed
        [worker] = await tasks.workers()
        assert worker.working_on is not None and worker.working_on.job is not None
        assert worker.working_on.job.task == "t.tick"
        release.set()
        await eventually(lambda: _processed(tasks))
        assert app.scheduler is not None
        await app.scheduler.tick()
        assert await copies(tasks) == (0, 0)
        assert await tasks.enqueue_recurrent("t.tick") is True


async def _processed(tasks: Tasks) -> bool:
    return (await tasks.stats()).get("processed", 0) >= 1
