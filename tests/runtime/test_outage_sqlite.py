"""SQLite failures that really happen: the database locked by another process for longer
than the busy timeout, and a database path that cannot be created. Clients get a clear
BackendUnavailable; processors and the scheduler back off, log the outage once, and
recover by themselves; nothing is lost."""

from __future__ import annotations

import asyncio
import collections
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stellar import App, BackendUnavailable, Task
from tests.helpers import FAST, counted, eventually

HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


class LockHolder:
    """Another process holding the database's write lock until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == b"locked"

    def release(self) -> None:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(b"\n")
        stdin.close()
        assert self.process.wait(10) == 0
        stdout.close()


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    records = [r for r in caplog.records if r.name.startswith("stellar.")]
    down = sum(1 for r in records if "backend unavailable" in r.getMessage())
    back = sum(1 for r in records if "backend is back" in r.getMessage())
    return down, back


async def test_a_database_locked_by_another_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each statement gives up after 0.1 s instead of 5 s, so the outage shows quickly
    monkeypatch.setattr("stellar.backends.sqlite.backend.BUSY_TIMEOUT", 0.1)
    caplog.set_level(logging.INFO, logger="stellar")
    runs: collections.Counter[int] = collections.Counter()

    async def work(api: Any, params: Any) -> None:
        await asyncio.sleep(0.005)
        runs[params["n"]] += 1

    db = tmp_path / "tasks.db"
    t = Task(name="o.work", description="d", run=work)
    app = App(tmp_path, tasks=[t], env={}, **{**FAST, "backend": f"sqlite:///{db}",
                                               "stuck_worker_timeout": 20})  # fmt: skip
    async with app:
        tasks = app.api.tasks
        await tasks.enqueue_many("o.work", [{"n": n} for n in range(200)])
        await eventually(lambda: len(runs) >= 30)
        holder = await asyncio.to_thread(LockHolder, db)
        try:
            with pytest.raises(BackendUnavailable, match="database is locked"):
                await tasks.enqueue("o.work", {"n": -1})
            stalled = len(runs)
            await asyncio.sleep(1.5)
            assert len(runs) - stalled <= 10, "nothing can be claimed while it is locked"
        finally:
            await asyncio.to_thread(holder.release)
        await eventually(lambda: len(runs) == 200, timeout=20)
        await tasks.enqueue("o.work", {"n": 200})
        await eventually(lambda: len(runs) == 201, timeout=10)
        await counted(tasks, {"processed": 201})
        assert await tasks.failed_count() == 0
    assert sorted(runs) == list(range(201))
    assert set(runs.values()) == {1}
    assert outage_lines(caplog) == (1, 1)


async def test_a_database_path_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database directory should be")
    url = f"sqlite:///{blocker}/sub/tasks.db"
    for kind in ({"processors": False, "scheduler": False}, {}):
        app = App(tmp_path, env={}, backend=url, **kind)  # type: ignore[arg-type]
        with pytest.raises(BackendUnavailable, match="not-a-directory") as caught:
            await app.start()
        assert "cannot create its directory" in str(caught.value)
        assert app.pool is None and app.scheduler is None
