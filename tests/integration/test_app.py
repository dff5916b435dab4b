"""End to end on the embedded backend: enqueue, run, delay, fail, periodic."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stellar import (
    App,
    DuplicateDelayedJob,
    InvalidParams,
    InvalidTime,
    Task,
    UnknownTask,
)
from tests.helpers import FAST, counted, eventually


def make_app(tmp_path: Path, tasks: list[Task], **kw: Any) -> App:
    options: dict[str, Any] = {"backend": f"sqlite:///{tmp_path}/tasks.db", **FAST}
    options.update(kw)
    return App(tmp_path, tasks=tasks, env={}, **options)


async def test_normal_tasks_run_once_each_in_fifo_order(tmp_path: Path) -> None:
    seen: list[Any] = []

    async def record(api: Any, params: Any) -> None:
        assert api.tasks is not None and api.config.backend.startswith("sqlite")
        seen.append(params["n"])

    t = Task(name="test.record", description="records", run=record)
    async with make_app(tmp_path, [t], max_processors=1) as app:
        for n in range(20):
            assert await app.api.tasks.enqueue("test.record", {"n": n}) is True
        await eventually(lambda: len(seen) == 20)
        await counted(app.api.tasks, {"processed": 20, "failed": 0})
    assert seen == list(range(20))


async def test_sync_run_functions_run_in_a_thread(tmp_path: Path) -> None:
    import threading

    threads: list[str] = []

    def blocking(api: Any, params: Any) -> None:
        time.sleep(0.05)  # would block the loop if it ran on it
        threads.append(threading.current_thread().name)

    t = Task(name="test.blocking", description="sync", run=blocking)
    async with make_app(tmp_path, [t]) as app:
        await app.api.tasks.enqueue("test.blocking")
        await eventually(lambda: threads)
    assert threads[0] != threading.main_thread().name


async def test_failure_is_recorded_and_the_worker_goes_on(tmp_path: Path) -> None:
    ok: list[int] = []

    async def explode(api: Any, params: Any) -> None:
        raise ValueError(f"bad value {params['v']}")

    async def fine(api: Any, params: Any) -> None:
        ok.append(1)

    tasks = [Task(name="test.explode", description="x", run=explode),
             Task(name="test.fine", description="y", run=fine)]  # fmt: skip
    async with make_app(tmp_path, tasks, max_processors=1) as app:
        await app.api.tasks.enqueue("test.explode", {"v": 7})
        await app.api.tasks.enqueue("test.fine")
        await eventually(lambda: ok)
        await counted(app.api.tasks, {"processed": 1, "failed": 1})
        failed = await app.api.tasks.failed()
    [record] = failed
    assert record.exception == "ValueError"
    assert record.error == "bad value 7"
    assert record.queue == "default"
    assert record.worker.endswith("+1")
    assert record.job is not None and record.job.task == "test.explode"
    assert record.job.params == {"v": 7}
    assert any("raise ValueError" in line for line in record.backtrace)
    assert record.failed_at is not None
    assert abs(record.failed_at.timestamp() - time.time()) < 10


async def test_bad_input_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    t = Task(name="test.x", description="x", run=lambda api, p: None)
    async with make_app(tmp_path, [t], processors=False, scheduler=False) as app:
        tasks = app.api.tasks
        with pytest.raises(UnknownTask, match="unknown task 'test.nope'"):
            await tasks.enqueue("test.nope")
        with pytest.raises(InvalidParams):
            await tasks.enqueue("test.x", {"when": datetime.now(UTC)})
        with pytest.raises(InvalidParams):
            await tasks.enqueue("test.x", {"n": float("nan")})
        with pytest.raises(InvalidTime, match="naive datetime"):
            await tasks.enqueue_at(datetime(2030, 1, 1), "test.x")
        with pytest.raises(InvalidTime):
            await tasks.enqueue_in("soon", "test.x")  # type: ignore[arg-type]
        with pytest.raises(UnknownTask):
            await tasks.enqueue_in(5, "test.nope")
        assert await tasks.queues() == []
        assert await tasks.timestamps() == []


async def test_delayed_job_never_starts_before_its_time(tmp_path: Path) -> None:
    started: list[tuple[float, float]] = []

    async def punctual(api: Any, params: Any) -> None:
        started.append((time.time(), params["due"]))

    t = Task(name="test.punctual", description="p", run=punctual)
    async with make_app(tmp_path, [t], max_processors=2) as app:
        base = time.time()
        for i in range(10):
            due = base + 0.3 + i * 0.07
            await app.api.tasks.enqueue_at(due, "test.punctual", {"due": due, "i": i})
        await eventually(lambda: len(started) == 10)
    for at, due in started:
        assert at >= due, f"started {due - at:.4f} s early"


async def test_delayed_in_the_past_runs_at_once_and_duplicates_are_refused(tmp_path: Path) -> None:
    ran: list[Any] = []
    t = Task(name="test.late", description="l", run=lambda api, p: ran.append(p))
    async with make_app(tmp_path, [t]) as app:
        tasks = app.api.tasks
        past = datetime.now(UTC) - timedelta(hours=1)
        when = await tasks.enqueue_at(past, "test.late", {"a": 1})
        assert when == past
        await eventually(lambda: ran == [{"a": 1}])
        future = time.time() + 3600
        await tasks.enqueue_at(future, "test.late", {"b": 2})
        with pytest.raises(DuplicateDelayedJob):
            await tasks.enqueue_at(future, "test.late", {"b": 2})
        assert [
            d.timestamp() for d in await tasks.scheduled_at("default", "test.late", {"b": 2})
        ] == [math.ceil(future)]


async def test_periodic_task_runs_repeatedly_and_stop_start(tmp_path: Path) -> None:
    runs: list[float] = []

    async def tick(api: Any, params: Any) -> None:
        assert params == {}
        runs.append(time.time())

    t = Task(name="test.tick", description="t", run=tick, frequency=0.1)
    async with make_app(tmp_path, [t]) as app:
        await eventually(lambda: len(runs) >= 4)
        removed = await app.api.tasks.stop_recurrent("test.tick")
        assert removed >= 0
        await asyncio.sleep(0.3)  # a running copy may finish, then nothing more
        count = len(runs)
        await asyncio.sleep(0.4)
        assert len(runs) == count, "a stopped periodic task ran again"
        assert await app.api.tasks.stopped_recurrent() == {"test.tick"}
        await app.api.tasks.enqueue_recurrent("test.tick")
        await eventually(lambda: len(runs) >= count + 2)


async def test_timeout_fails_the_job_with_a_clear_error(tmp_path: Path) -> None:
    async def slow(api: Any, params: Any) -> None:
        await asyncio.sleep(10)

    t = Task(name="test.slow", description="s", run=slow, timeout=0.1)
    async with make_app(tmp_path, [t]) as app:
        await app.api.tasks.enqueue("test.slow")
        failed = await eventually(app.api.tasks.failed)
    assert failed[0].exception == "JobTimeout"
    assert "ran longer than its timeout of 0.1 s" in failed[0].error


async def test_shutdown_puts_an_unfinished_job_back_at_the_head(tmp_path: Path) -> None:
    started = asyncio.Event()

    async def forever(api: Any, params: Any) -> None:
        started.set()
        await asyncio.sleep(60)

    t = Task(name="test.forever", description="f", run=forever)
    app = make_app(tmp_path, [t], shutdown_timeout=0.2, max_processors=1)
    async with app:
        await app.api.tasks.enqueue("test.forever", {"first": True})
        await asyncio.wait_for(started.wait(), 5)
        await app.api.tasks.enqueue("test.forever", {"second": True})
    async with make_app(tmp_path, [t], processors=False, scheduler=False) as client:
        queued = await client.api.tasks.queued("default")
        assert [j.params for j in queued] == [{"first": True}, {"second": True}]
        assert await client.api.tasks.workers() == []
        assert await client.api.tasks.leader() is None
