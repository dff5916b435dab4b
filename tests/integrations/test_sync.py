"""stellar.sync: one implementation, called from plain functions."""

from __future__ import annotations

import asyncio
import inspect
import math
import threading
from pathlib import Path
from typing import Any

import pytest

from stellar import App, ConfigError, Task, UnknownTask
from stellar.api import Tasks
from stellar.sync import SyncApp, SyncTasks, blocking


def client(tmp_path: Path, tasks: list[Task] | None = None, **kw: Any) -> SyncApp:
    options: dict[str, Any] = dict(processors=False, scheduler=False, env={},
                                   backend=f"sqlite:///{tmp_path}/tasks.db")  # fmt: skip
    options.update(kw)
    return SyncApp(tmp_path, tasks=tasks or [], **options)


def noop(api: Any, params: Any) -> None:
    return None


def test_every_async_method_of_tasks_has_a_blocking_twin() -> None:
    public = {
        name
        for name, fn in inspect.getmembers(Tasks, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }
    twins = {name for name, value in vars(SyncTasks).items() if isinstance(value, blocking)}
    assert twins == public, "add the missing methods to SyncTasks (one line each)"
    for name in twins:
        twin: blocking[Any, Any] = vars(SyncTasks)[name]
        assert twin.method is getattr(Tasks, name)
        assert twin.__doc__ == getattr(Tasks, name).__doc__


def test_enqueue_and_manage_from_plain_functions(tmp_path: Path) -> None:
    t = Task(name="t.noop", description="n", run=noop)
    with client(tmp_path, [t]) as stellar:
        assert stellar.tasks.enqueue("t.noop", {"n": 1}) is True
        assert stellar.tasks.enqueue_many("t.noop", [{"n": 2}, {"n": 3}]) == 2
        assert [j.params for j in stellar.tasks.queued("default")] == [{"n": i} for i in (1, 2, 3)]
        when = stellar.tasks.enqueue_in(3600, "t.noop", queue="later")
        assert [t.timestamp() for t in stellar.tasks.timestamps()] == [math.ceil(when.timestamp())]
        assert stellar.tasks.delete("default", "t.noop", {"n": 2}) == 1
        assert stellar.tasks.length("default") == 2
        assert stellar.tasks.details().delayed == 1
        with pytest.raises(UnknownTask):
            stellar.tasks.enqueue("t.nope")
        # the generic escape hatch: any coroutine function, run on the app's loop
        assert stellar.call(stellar.app.api.tasks.queues) == ["default"]
        # the loop runs in its own thread
        loop_thread = stellar.call(_thread_name)
        assert loop_thread == "stellar-sync" != threading.current_thread().name
    assert not stellar.running
    stellar.close()  # idempotent


async def _thread_name() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_processors_run_in_the_background_thread(tmp_path: Path) -> None:
    done = threading.Event()
    t = Task(name="t.signal", description="s", run=lambda api, params: done.set())
    with client(tmp_path, [t], processors=True, poll_interval=0.02) as stellar:
        stellar.tasks.enqueue("t.signal")
        assert done.wait(10)
    with client(tmp_path) as stellar:
        assert stellar.tasks.workers() == []  # closed gracefully: unregistered


def test_misuse_gets_clear_errors(tmp_path: Path) -> None:
    stellar = client(tmp_path)
    with pytest.raises(RuntimeError, match="not started"):
        stellar.tasks.stats()
    with pytest.raises(TypeError, match="takes no options"):
        SyncApp(App(tmp_path), processors=False)
    with stellar:
        with pytest.raises(RuntimeError, match="already started"):
            stellar.start()

        async def reentrant() -> None:
            stellar.tasks.stats()  # on the loop thread: would deadlock

        with pytest.raises(RuntimeError, match="its own event loop"):
            stellar.call(reentrant)
    with pytest.raises(RuntimeError, match="starts once"):
        stellar.start()


def test_a_failed_start_raises_and_leaves_no_thread(tmp_path: Path) -> None:
    stellar = client(tmp_path, poll_interval=-1)
    with pytest.raises(ConfigError, match="poll_interval"):
        stellar.start()
    assert not stellar.running
    assert not any(t.name == "stellar-sync" for t in threading.enumerate())
