"""drain() and run_task(): deterministic runs, in the test's own task, without sleeping."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from stellar import App, InvalidParams, Plugin, PluginContext, Task, UnknownTask
from stellar.testing import FakeClock, drain, make_app, run_task


def app_with(tmp_path: Path, clock: FakeClock, *tasks: Task, **kw: Any) -> App:
    return make_app(tmp_path, database=tmp_path / "tasks.db", clock=clock, tasks=tasks, **kw)


def recorder() -> tuple[list[Any], Any]:
    seen: list[Any] = []

    async def run(api: Any, params: Any) -> None:
        seen.append(params)

    return seen, run


async def test_a_delayed_task_runs_when_the_clock_reaches_it(tmp_path: Path) -> None:
    started = time.monotonic()
    seen, run = recorder()
    clock = FakeClock(start=1_700_000_000.25)
    async with app_with(tmp_path, clock, Task(name="t.later", description="d", run=run)) as app:
        when = await app.api.tasks.enqueue_in(timedelta(days=30), "t.later", {"n": 1})
        assert (await drain(app)).ran == ()
        clock.advance(timedelta(days=30) - timedelta(seconds=1))
        assert (await drain(app)).ran == ()
        assert seen == []
        clock.move_to(when)  # exactly its time: due, never early
        result = await drain(app)
        assert result.tasks == ["t.later"]
        assert [j.params for j in result.succeeded] == [{"n": 1}]
        assert await app.api.tasks.timestamps() == []
    assert seen == [{"n": 1}]
    assert time.monotonic() - started < 5  # thirty days, no sleeping


async def test_a_periodic_task_is_seeded_and_reseeded_by_the_clock(tmp_path: Path) -> None:
    seen, run = recorder()
    clock = FakeClock(start=1_700_000_000)
    tick = Task(name="t.tick", description="p", run=run, frequency=60)
    async with app_with(tmp_path, clock, tick) as app:
        assert (await drain(app)).tasks == ["t.tick"]  # seeded, due now
        assert (await drain(app)).tasks == []  # next copy is 60 s away
        clock.advance(59)
        assert (await drain(app)).tasks == []
        clock.advance(1)
        assert (await drain(app)).tasks == ["t.tick"]
        clock.advance(600)  # ten periods late: still one copy, run once
        assert (await drain(app)).tasks == ["t.tick"]
        assert len(await app.api.tasks.all_delayed()) == 1
        await app.api.tasks.stop_recurrent("t.tick")
        clock.advance(3600)
        assert (await drain(app)).tasks == []
        await app.api.tasks.enqueue_recurrent("t.tick")
        assert (await drain(app)).tasks == ["t.tick"]
    assert seen == [{}] * 4


async def test_periodic_false_leaves_periodic_tasks_alone(tmp_path: Path) -> None:
    _, run = recorder()
    clock = FakeClock()
    tasks = [Task(name="t.tick", description="p", run=run, frequency=60),
             Task(name="t.once", description="o", run=run)]  # fmt: skip
    async with app_with(tmp_path, clock, *tasks) as app:
        await app.api.tasks.enqueue("t.once")
        assert (await drain(app, periodic=False)).tasks == ["t.once"]
        assert await app.api.tasks.timestamps() == []


async def test_jobs_enqueued_by_jobs_run_too_in_new_queues(tmp_path: Path) -> None:
    seen, run = recorder()

    async def fan_out(api: Any, params: Any) -> None:
        await api.tasks.enqueue("t.leaf", {"to": "mail"}, queue="mail")
        await api.tasks.enqueue_in(0, "t.leaf", {"to": "now"})
        await api.tasks.enqueue_in(5, "t.leaf", {"to": "later"})

    clock = FakeClock()
    tasks = [Task(name="t.fan", description="f", run=fan_out),
             Task(name="t.leaf", description="l", run=run)]  # fmt: skip
    async with app_with(tmp_path, clock, *tasks) as app:
        await app.api.tasks.enqueue("t.fan")
        result = await drain(app)
        assert sorted(map(str, result.tasks)) == ["t.fan", "t.leaf", "t.leaf"]
        assert sorted(p["to"] for p in seen) == ["mail", "now"]
        clock.advance(5)
        assert (await drain(app)).tasks == ["t.leaf"]
        stats = await app.api.tasks.stats()
    assert stats["processed"] == 4


async def test_only_the_given_queues(tmp_path: Path) -> None:
    _, run = recorder()
    async with app_with(tmp_path, FakeClock(), Task(name="t.x", description="x", run=run)) as app:
        await app.api.tasks.enqueue("t.x", {"q": "a"}, queue="a")
        await app.api.tasks.enqueue("t.x", {"q": "b"}, queue="b")
        result = await drain(app, queues=["b"])
        assert [r.queue for r in result.ran] == ["b"]
        assert await app.api.tasks.length("a") == 1


async def test_failures_are_reported_recorded_and_optionally_raised(tmp_path: Path) -> None:
    async def explode(api: Any, params: Any) -> None:
        raise ValueError(params["why"])

    t = Task(name="t.boom", description="b", run=explode)
    async with app_with(tmp_path, FakeClock(), t) as app:
        await app.api.tasks.enqueue("t.boom", {"why": "first"})
        result = await drain(app)
        [failure] = result.failed
        assert failure.task == "t.boom" and not failure.ok
        assert isinstance(failure.error, ValueError) and str(failure.error) == "first"
        assert result.succeeded == [] and len(result) == 1
        assert (await app.api.tasks.failed())[0].error == "first"
        await app.api.tasks.enqueue("t.boom", {"why": "second"})
        with pytest.raises(ValueError, match="second"):
            await drain(app, raise_errors=True)
        assert await app.api.tasks.failed_count() == 2


async def test_plugins_run_as_in_production(tmp_path: Path) -> None:
    seen, run = recorder()

    class OnlyEven(Plugin):
        async def before_perform(self, ctx: PluginContext) -> bool:
            return bool(ctx.job.params["n"] % 2 == 0)

    t = Task(name="t.even", description="e", run=run, plugins=[OnlyEven()])
    async with app_with(tmp_path, FakeClock(), t) as app:
        for n in range(4):
            await app.api.tasks.enqueue("t.even", {"n": n})
        result = await drain(app)
    assert [j.params["n"] for j in result.succeeded] == [0, 2]
    assert seen == [{"n": 0}, {"n": 2}]


async def test_a_runaway_task_hits_the_limit(tmp_path: Path) -> None:
    async def again(api: Any, params: Any) -> None:
        await api.tasks.enqueue("t.again")

    t = Task(name="t.again", description="a", run=again)
    async with app_with(tmp_path, FakeClock(), t) as app:
        await app.api.tasks.enqueue("t.again")
        with pytest.raises(RuntimeError, match="more than 10 jobs"):
            await drain(app, limit=10)
        assert await app.api.tasks.workers() == []  # unregistered all the same
        assert await app.api.tasks.leader() is None


async def test_drain_refuses_an_app_that_runs_its_own_loops(tmp_path: Path) -> None:
    _, run = recorder()
    t = Task(name="t.x", description="x", run=run)
    async with app_with(tmp_path, FakeClock(), t, processors=True) as app:
        with pytest.raises(RuntimeError, match="processors=False"):
            await drain(app)
    with pytest.raises(RuntimeError, match="not started"):
        await drain(app_with(tmp_path, FakeClock(), t))


async def test_drain_refuses_when_another_scheduler_leads(tmp_path: Path) -> None:
    _, run = recorder()
    t = Task(name="t.x", description="x", run=run)
    async with app_with(tmp_path, FakeClock(), t) as app:
        assert app.backend is not None
        assert await app.backend.acquire_leader("someone-else", 60)
        with pytest.raises(RuntimeError, match="another scheduler leads"):
            await drain(app)


async def test_make_app_ignores_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STELLAR_BACKEND", "redis://127.0.0.1:1/0")
    async with make_app(tmp_path, database=tmp_path / "x.db") as app:
        assert app.settings is not None
        assert app.settings.backend == f"sqlite:///{tmp_path / 'x.db'}"
        assert isinstance(app.clock, FakeClock)
        assert app.pool is None and app.scheduler is None


async def test_run_task_calls_run_with_what_a_worker_would_pass(tmp_path: Path) -> None:
    async def echo(api: Any, params: Any) -> Any:
        assert api.tasks is not None
        return params

    def blocking(api: Any, params: Any) -> str:
        time.sleep(0.01)
        return "done in a thread"

    tasks = [Task(name="t.echo", description="e", run=echo),
             Task(name="t.sync", description="s", run=blocking)]  # fmt: skip
    async with app_with(tmp_path, FakeClock(), *tasks) as app:
        assert await run_task(app, "t.echo", {"a": (1, 2), "b": 1.0}) == {"a": [1, 2], "b": 1.0}
        assert await run_task(app, "t.echo") == {}
        assert await run_task(app, "t.sync") == "done in a thread"
        with pytest.raises(InvalidParams):
            await run_task(app, "t.echo", {"x": float("nan")})
        with pytest.raises(UnknownTask):
            await run_task(app, "t.nope")
        assert await app.api.tasks.queues() == []  # nothing was queued


async def test_drain_runs_in_the_calling_task(tmp_path: Path) -> None:
    tasks_seen: list[asyncio.Task[Any] | None] = []

    async def where(api: Any, params: Any) -> None:
        tasks_seen.append(asyncio.current_task())

    t = Task(name="t.where", description="w", run=where)
    async with app_with(tmp_path, FakeClock(), t) as app:
        await app.api.tasks.enqueue("t.where")
        await drain(app)
    assert tasks_seen == [asyncio.current_task()]
