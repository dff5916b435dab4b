"""Workers: workers, working_on, all_working_on, force_clean_worker, clean_old_workers,
details and leader."""

from __future__ import annotations

import time

import pytest

from stellar import App, WorkerNotFound
from stellar.backends import Backend
from stellar.codec import encode_job

JOB = encode_job("t.echo", "default", [{"n": 1}])


def store(app: App) -> Backend:
    assert app.backend is not None
    return app.backend


async def start_worker(
    backend: Backend, name: str, *, since: float, ping: float | None = None, job: str | None = None
) -> None:
    """Register ``name`` (queues ``default``) at ``since``; with ``job``, it claims that job
    at ``since``; with ``ping``, it last pinged then."""
    await backend.register_worker(name, "default", since)
    if job is not None:
        await backend.push("default", [job])
        claimed = await backend.claim(["default"], name, "default", since)
        assert claimed is not None and claimed.payload == job
    if ping is not None:
        await backend.ping_worker(name, "default", ping)


async def test_workers_and_what_each_works_on(client: App) -> None:
    tasks = client.api.tasks
    assert await tasks.workers() == []
    assert await tasks.all_working_on() == {}
    now = time.time()
    await start_worker(store(client), "host:2+1", since=now - 5, job=JOB)
    await start_worker(store(client), "host:1+1", since=now - 9)
    idle, busy = await tasks.workers()
    assert (idle.name, idle.queues, idle.working_on) == ("host:1+1", "default", None)
    assert idle.id == "host:1+1:default"
    assert idle.started is not None and abs(idle.started.timestamp() - (now - 9)) < 1.5
    assert busy.name == "host:2+1" and busy.working_on is not None
    doing = busy.working_on
    assert doing.job is not None and doing.job.payload == JOB and doing.job.params == {"n": 1}
    assert doing.queue == "default" and doing.worker == "host:2+1"
    assert doing.run_at is not None and abs(doing.run_at.timestamp() - (now - 5)) < 1.5
    assert await tasks.working_on("host:2+1", "default") == doing
    assert await tasks.working_on("host:1+1", "default") is None
    assert await tasks.all_working_on() == {"host:1+1": None, "host:2+1": doing}


async def test_force_clean_worker_moves_its_job_to_failed(client: App) -> None:
    tasks = client.api.tasks
    await start_worker(store(client), "host:3+1", since=time.time(), job=JOB)
    record = await tasks.force_clean_worker("host:3+1")
    assert record is not None and record.job is not None and record.job.payload == JOB
    assert record.exception == "WorkerDied" and "killed manually" in record.error
    assert record.backtrace[1] == "queue#forceCleanWorker"
    assert await tasks.workers() == []
    [failed] = await tasks.failed()
    assert failed == record
    assert (await tasks.stats())["failed"] == 1
    with pytest.raises(WorkerNotFound, match="no worker named 'host:3\\+1'"):
        await tasks.force_clean_worker("host:3+1")


async def test_force_clean_worker_can_requeue_and_cleans_idle_ones(client: App) -> None:
    tasks = client.api.tasks
    now = time.time()
    await start_worker(store(client), "host:4+1", since=now, job=JOB)
    await start_worker(store(client), "host:4+2", since=now)
    assert await tasks.force_clean_worker("host:4+1", requeue=True) is None
    assert [j.payload for j in await tasks.queued("default")] == [JOB]
    assert await tasks.force_clean_worker("host:4+2") is None
    assert await tasks.workers() == []
    assert await tasks.failed_count() == 0
    with pytest.raises(WorkerNotFound):
        await tasks.force_clean_worker("nobody")


async def test_clean_old_workers_cleans_the_silent_ones_only(client: App) -> None:
    tasks = client.api.tasks
    backend = store(client)
    now, old = time.time(), time.time() - 1000
    await start_worker(backend, "dead:1+1", since=old, job=JOB)  # job started long ago, silent
    await start_worker(backend, "dead:1+2", since=old)  # idle and silent
    await start_worker(backend, "live:1+1", since=old, ping=now)  # idle, pings
    long_job = encode_job("t.echo", "default", [{"n": 2}])
    await start_worker(backend, "live:1+2", since=old, ping=now, job=long_job)  # long job, pings
    await start_worker(backend, "new:1+1", since=now - 10, job=encode_job("t.echo", "default", []))
    cleaned = await tasks.clean_old_workers(600)
    assert set(cleaned) == {"dead:1+1", "dead:1+2"}
    assert cleaned["dead:1+2"] is None
    record = cleaned["dead:1+1"]
    assert record is not None and record.job is not None and record.job.payload == JOB
    assert "no sign of life since" in record.error
    assert [w.name for w in await tasks.workers()] == ["live:1+1", "live:1+2", "new:1+1"]
    assert [f.job.payload for f in await tasks.failed() if f.job] == [JOB]
    assert await tasks.clean_old_workers(600) == {}
    assert set(await tasks.clean_old_workers(5)) == {"new:1+1"}  # a timedelta works too


async def test_details_has_queues_workers_stats_and_leader(client: App) -> None:
    tasks = client.api.tasks
    backend = store(client)
    empty = await tasks.details()
    assert (empty.queues, empty.workers, empty.stats, empty.leader) == ((), (), {}, None)
    assert (empty.delayed, empty.failed) == (0, 0)
    await start_worker(backend, "host:5+1", since=time.time(), job=JOB)
    await backend.finish("host:5+1", "default", failure='{"queue":"default","error":"x"}')
    await start_worker(backend, "host:5+2", since=time.time(), job=JOB)
    await tasks.enqueue("t.echo", {"n": 5})
    await tasks.enqueue("t.echo", {"n": 6})
    await tasks.enqueue("t.other")
    await tasks.enqueue_in(3600, "t.echo")
    assert await backend.acquire_leader("sched:1", 30)
    details = await tasks.details()
    assert [(q.name, q.length) for q in details.queues] == [("default", 2), ("other", 1)]
    assert [w.name for w in details.workers] == ["host:5+1", "host:5+2"]
    busy = details.workers[1].working_on
    assert busy is not None and busy.job is not None and busy.job.payload == JOB
    assert details.workers[0].working_on is None
    assert details.stats["failed"] == 1 and details.stats["failed:host:5+1"] == 1
    assert details.leader == "sched:1" == await tasks.leader()
    assert (details.delayed, details.failed) == (1, 1)


async def test_leader_is_none_without_a_scheduler(client: App) -> None:
    assert await client.api.tasks.leader() is None
    assert await store(client).acquire_leader("a:1", 30)
    assert await client.api.tasks.leader() == "a:1"
    assert await store(client).release_leader("a:1")
    assert await client.api.tasks.leader() is None
