"""Shutdown and job timeouts at their edges: what finishes in time is counted once, what
does not goes back to the head of its queue with its locks given back, timeouts (per task,
or the default ``job_timeout``) fail the job clearly, and a sync task's thread, which
nothing can interrupt, is the one documented way to run a job twice."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from stellar import App, Task
from stellar.plugins import JobLock, Retry
from tests.helpers import FAST, eventually


def make_app(tmp_path: Path, tasks: list[Task], **kw: Any) -> App:
    options: dict[str, Any] = {"backend": f"sqlite:///{tmp_path}/tasks.db", **FAST, **kw}
    return App(tmp_path, tasks=tasks, env={}, **options)


def client(tmp_path: Path, tasks: list[Task]) -> App:
    return make_app(tmp_path, tasks, processors=False, scheduler=False)


# ------------------------------------------------------------------ timeouts
async def test_default_job_timeout_and_a_task_s_own_timeout(tmp_path: Path) -> None:
    done: list[str] = []

    async def sleeps(api: Any, params: Any) -> None:
        await asyncio.sleep(params["s"])
        done.append(params["name"])

    tasks = [
        Task(name="t.default", description="no timeout of its own", run=sleeps),
        Task(name="t.longer", description="allowed more", run=sleeps, timeout=2),
        Task(name="t.shorter", description="allowed less", run=sleeps, timeout=0.05),
    ]
    async with make_app(tmp_path, tasks, job_timeout=0.3, max_processors=3) as app:
        api = app.api.tasks
        await api.enqueue("t.default", {"s": 5, "name": "default-slow"})
        await api.enqueue("t.default", {"s": 0.01, "name": "default-quick"})
        await api.enqueue("t.longer", {"s": 0.6, "name": "longer"})
        await api.enqueue("t.shorter", {"s": 0.2, "name": "shorter"})
        await eventually(lambda: len(done) == 2, timeout=10)
        failed = await eventually(lambda: _when(api.failed(), 2), timeout=10)
    assert sorted(done) == ["default-quick", "longer"]
    errors = sorted(f.error for f in failed)
    assert errors == ["t.default ran longer than its timeout of 0.3 s",
                      "t.shorter ran longer than its timeout of 0.05 s"]  # fmt: skip
    assert {f.exception for f in failed} == {"JobTimeout"}


async def _when(records: Any, n: int) -> Any:
    value = await records
    return value if len(value) >= n else None


async def test_a_task_s_own_timeout_error_is_not_a_job_timeout(tmp_path: Path) -> None:
    async def calls_out(api: Any, params: Any) -> None:
        raise TimeoutError("the remote service did not answer")

    t = Task(name="t.remote", description="d", run=calls_out, timeout=10)
    async with make_app(tmp_path, [t]) as app:
        await app.api.tasks.enqueue("t.remote")
        [failed] = await eventually(app.api.tasks.failed)
    assert (failed.exception, failed.error) == ("TimeoutError", "the remote service did not answer")


async def test_a_sync_task_past_its_timeout_fails_and_the_worker_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    finished: list[str] = []

    def stuck(api: Any, params: Any) -> None:
        release.wait(10)
        finished.append("thread")

    quick: list[int] = []
    tasks = [Task(name="t.stuck", description="d", run=stuck, timeout=0.1),
             Task(name="t.quick", description="d", run=lambda api, p: quick.append(1))]  # fmt: skip
    async with make_app(tmp_path, tasks, max_processors=1) as app:
        await app.api.tasks.enqueue("t.stuck")
        await app.api.tasks.enqueue("t.quick")
        await eventually(lambda: quick == [1])
        [failed] = await app.api.tasks.failed()
        assert failed.exception == "JobTimeout"
        assert finished == [], "the thread still runs: Python cannot stop it"
        release.set()
        await eventually(lambda: finished == ["thread"])
    assert "thread cannot be interrupted" in caplog.text


async def test_retry_retries_a_timed_out_job(tmp_path: Path) -> None:
    attempts: list[float] = []

    async def slow_once(api: Any, params: Any) -> None:
        attempts.append(time.time())
        if len(attempts) == 1:
            await asyncio.sleep(5)

    t = Task(name="t.slow", description="d", run=slow_once, timeout=0.1,
             plugins=[Retry(retry_limit=2, retry_delay=0)])  # fmt: skip
    async with make_app(tmp_path, [t]) as app:
        await app.api.tasks.enqueue("t.slow")
        await eventually(lambda: len(attempts) == 2, timeout=5)
        await asyncio.sleep(0.1)
        assert await app.api.tasks.failed_count() == 0
        stats = await app.api.tasks.stats()
    assert (stats["processed"], stats["failed"]) == (1, 1)


async def test_an_object_with_an_async_call_runs_as_async(tmp_path: Path) -> None:
    class Handler:
        def __init__(self) -> None:
            self.seen: list[Any] = []

        async def __call__(self, api: Any, params: Any) -> None:
            await asyncio.sleep(params.get("s", 0))
            self.seen.append(params)

    handler = Handler()
    t = Task(name="t.obj", description="d", run=handler, timeout=0.2)
    async with make_app(tmp_path, [t], max_processors=1) as app:
        await app.api.tasks.enqueue("t.obj", {"n": 1})
        await app.api.tasks.enqueue("t.obj", {"s": 5})
        [failed] = await eventually(app.api.tasks.failed)
        assert handler.seen == [{"n": 1}]
    assert failed.exception == "JobTimeout"


async def test_sys_exit_in_a_task_fails_the_job_only(tmp_path: Path) -> None:
    quick: list[int] = []
    tasks = [Task(name="t.exit", description="d", run=lambda api, p: sys.exit(3)),
             Task(name="t.quick", description="d", run=lambda api, p: quick.append(1))]  # fmt: skip
    async with make_app(tmp_path, tasks, max_processors=1) as app:
        await app.api.tasks.enqueue("t.exit")
        await app.api.tasks.enqueue("t.quick")
        await eventually(lambda: quick == [1])
        [failed] = await app.api.tasks.failed()
    assert (failed.exception, failed.error) == ("SystemExit", "3")


# ------------------------------------------------------------------ shutdown
async def test_a_job_finishing_within_shutdown_timeout_is_counted_once(tmp_path: Path) -> None:
    started, done = asyncio.Event(), []

    async def short(api: Any, params: Any) -> None:
        started.set()
        await asyncio.sleep(0.3)
        done.append(1)

    t = Task(name="t.short", description="d", run=short)
    async with make_app(tmp_path, [t], shutdown_timeout=5, max_processors=1) as app:
        await app.api.tasks.enqueue("t.short")
        await asyncio.wait_for(started.wait(), 5)
    assert done == [1]
    async with client(tmp_path, [t]) as c:
        assert await c.api.tasks.length("default") == 0
        assert (await c.api.tasks.stats())["processed"] == 1
        assert await c.api.tasks.workers() == []


async def test_every_interrupted_job_goes_back_with_its_lock_released(tmp_path: Path) -> None:
    running: list[int] = []

    async def forever(api: Any, params: Any) -> None:
        running.append(params["n"])
        await asyncio.sleep(60)

    t = Task(name="t.forever", description="d", run=forever, plugins=[JobLock()])
    app = make_app(tmp_path, [t], shutdown_timeout=0.3, min_processors=3, max_processors=3)
    async with app:
        for n in range(5):
            await app.api.tasks.enqueue("t.forever", {"n": n})
        await eventually(lambda: len(running) == 3)
        assert len(await app.api.tasks.locks()) == 3
    async with client(tmp_path, [t]) as c:
        queued = sorted(j.params["n"] for j in await c.api.tasks.queued("default"))
        assert queued == [0, 1, 2, 3, 4], "nothing lost, nothing doubled"
        assert await c.api.tasks.locks() == {}
        assert await c.api.tasks.workers() == []
        assert await c.api.tasks.failed_count() == 0
        assert await c.api.tasks.stats() == {}


async def test_a_sync_task_interrupted_at_shutdown_can_run_twice(tmp_path: Path) -> None:
    """The documented exception to "runs once": its thread cannot be stopped, so the job is
    put back while the thread runs on, and the next start runs it again."""
    release = threading.Event()
    runs: list[str] = []

    def stubborn(api: Any, params: Any) -> None:
        runs.append("started")
        release.wait(10)

    t = Task(name="t.stubborn", description="d", run=stubborn)
    async with make_app(tmp_path, [t], shutdown_timeout=0.2, max_processors=1) as app:
        await app.api.tasks.enqueue("t.stubborn")
        await eventually(lambda: runs == ["started"])
    async with client(tmp_path, [t]) as c:
        assert await c.api.tasks.length("default") == 1  # put back: not lost
    release.set()
    async with make_app(tmp_path, [t], max_processors=1) as app:
        await eventually(lambda: runs == ["started", "started"])
