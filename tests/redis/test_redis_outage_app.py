"""A whole App (processors and scheduler) across a Redis stop and restart on the same port,
with jobs running, queued and delayed: clients get BackendUnavailable meanwhile, the loops
back off and recover by themselves, and every job runs exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from tests.helpers import FAST, eventually

from stellar import App, BackendUnavailable, Task

N_NOW, N_DELAYED = 60, 20


async def test_an_app_rides_out_a_redis_restart(spare_server: Any, tmp_path: Path) -> None:
    # the data must survive the restart: an append-only file, synced on every write
    server = spare_server("--appendonly", "yes", "--appendfsync", "always")
    runs: list[int] = []
    beats: list[float] = []

    async def work(api: Any, params: Any) -> None:
        await asyncio.sleep(0.05)
        runs.append(params["n"])

    async def beat(api: Any, params: Any) -> None:
        beats.append(time.time())

    tasks_ = [
        Task(name="outage.work", description="takes a while", run=work),
        Task(name="outage.beat", description="periodic", run=beat, frequency=0.2),
    ]
    settings = {**FAST, "stuck_worker_timeout": 30.0, "min_processors": 3, "max_processors": 3}
    app = App(tmp_path, tasks=tasks_, backend=server.url, env={}, **settings)
    async with app:
        tasks = app.api.tasks
        assert await tasks.enqueue_many("outage.work", ({"n": n} for n in range(N_NOW))) == N_NOW
        soon = time.time() + 1.0
        for n in range(N_NOW, N_NOW + N_DELAYED):
            await tasks.enqueue_at(soon + (n - N_NOW) * 0.1, "outage.work", {"n": n})
        await eventually(lambda: len(runs) >= 10 and beats)
        assert app.pool is not None
        await eventually(lambda: app.pool.busy > 0)  # type: ignore[union-attr]

        server.stop()  # jobs in flight, jobs queued, jobs delayed
        stopped = time.time()
        with pytest.raises(BackendUnavailable):
            await tasks.enqueue("outage.work", {"n": -1})
        with pytest.raises(BackendUnavailable):
            await tasks.stats()
        await asyncio.sleep(1.0)
        during = len(runs)
        server.start()  # same port; the append-only file brings the data back
        restarted = time.time()

        await eventually(lambda: len(runs) >= N_NOW + N_DELAYED, timeout=20)
        await eventually(lambda: any(t > restarted for t in beats), timeout=10)

        async def settled() -> bool:
            return await tasks.length("default") == 0 and not await tasks.timestamps()

        await eventually(settled, timeout=10)
        assert await tasks.failed_count() == 0
        workers = await tasks.workers()
        assert len(workers) == 3  # registered again, alive
        assert all(w.last_ping is not None and w.last_ping.timestamp() > restarted for w in workers)
        assert await tasks.leader() == app.name

    assert sorted(runs) == list(range(N_NOW + N_DELAYED)), "a job was lost or ran twice"
    assert during < N_NOW + N_DELAYED  # the outage really interrupted the work
    assert restarted - stopped >= 1.0
    raw = Redis(port=server.port, decode_responses=True)
    try:  # nothing is left half-done: no working-on record, no worker
        assert await raw.keys("resque:worker:*") == []
        assert await raw.smembers("resque:stellar:working") == set()
        assert await raw.smembers("resque:workers") == set()
    finally:
        await raw.aclose()
