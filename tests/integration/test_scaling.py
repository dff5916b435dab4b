"""The processor pool grows under load and shrinks when idle."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from stellar import App, Task
from tests.helpers import FAST, counted, eventually


async def test_pool_grows_to_max_under_load_and_shrinks_back(tmp_path: Path) -> None:
    async def slow(api: Any, params: Any) -> None:
        await asyncio.sleep(0.15)

    t = Task(name="test.slow", description="s", run=slow)
    options = {**FAST, "min_processors": 1, "max_processors": 4, "max_loop_lag": 0.5}
    app = App(tmp_path, tasks=[t], env={}, backend=f"sqlite:///{tmp_path}/t.db", **options)
    async with app:
        assert app.pool is not None
        await app.api.tasks.enqueue_many("test.slow", [{"n": n} for n in range(40)])
        await eventually(lambda: len(app.pool.slots) == 4, timeout=5)  # type: ignore[union-attr]
        assert len(await app.api.tasks.workers()) >= 4
        await eventually(lambda: app.pool.slots and len(app.pool.slots) == 1, timeout=15)  # type: ignore[union-attr]
        await counted(app.api.tasks, {"processed": 40})
        # retired workers unregister once their last job is done
        await eventually(lambda: _count(app), timeout=5)


async def _count(app: App) -> bool:
    return len(await app.api.tasks.workers()) == 1
