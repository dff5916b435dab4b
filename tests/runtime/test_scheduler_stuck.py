"""The scheduler cleans workers whose pings stopped, and leaves alone workers that never
ping (node-resque 4 as Stellar runs it, Ruby Resque): nothing can tell those dead."""

from __future__ import annotations

import redis.asyncio as aioredis

from stellar.backends import open_backend
from stellar.config import Settings
from stellar.runtime.scheduler import Scheduler
from stellar.tasks.registry import Registry
from stellar.testing import FakeClock


async def test_stuck_workers_are_cleaned_and_ping_less_ones_are_left(redis_url: str) -> None:
    clock = FakeClock(start=1_800_000_000.0)
    backend = open_backend(redis_url)
    raw = aioredis.from_url(redis_url)
    try:
        # a node-resque 4 worker: registered, started long ago, never pings
        await raw.sadd("resque:workers", "oldhost:99:default")
        await raw.set("resque:worker:oldhost:99:default:started", str(int(clock.time()) - 3600))
        # one of ours that stopped pinging 100 s ago, busy with a job
        await backend.register_worker("ourhost:7+1", "default", clock.time() - 100)
        await backend.push("default", ['{"class":"x","queue":"default","args":[{}]}'])
        assert await backend.claim(["default"], "ourhost:7+1", "default", clock.time() - 99)
        # and a healthy one
        await backend.register_worker("ourhost:8+1", "default", clock.time() - 1)
        settings = Settings(stuck_worker_timeout=60, scheduler_interval=1, ping_interval=5)
        scheduler = Scheduler(backend=backend, registry=Registry(), clock=clock,
                              settings=settings, name="sched")  # fmt: skip
        await scheduler.tick()
        assert await backend.workers() == {"oldhost:99": "default", "ourhost:8+1": "default"}
        [failure] = await backend.failed()
        assert '"exception":"WorkerDied"' in failure and "ourhost:7+1" in failure
    finally:
        await raw.aclose()
        await backend.aclose()


async def test_after_a_long_gap_live_workers_get_time_to_ping_again(tmp_path: object) -> None:
    clock = FakeClock(start=1_800_000_000.0)
    backend = open_backend(f"sqlite:///{tmp_path}/t.db")
    try:
        settings = Settings(stuck_worker_timeout=60, scheduler_interval=1, ping_interval=5)
        scheduler = Scheduler(backend=backend, registry=Registry(), clock=clock,
                              settings=settings, name="sched")  # fmt: skip
        await backend.register_worker("live+1", "*", clock.time())
        await backend.register_worker("dead+1", "*", clock.time())
        await scheduler.tick()
        clock.advance(300)  # the backend was down: no round, no pings for 300 s
        await scheduler.tick()
        assert set(await backend.workers()) == {"live+1", "dead+1"}, "cleaned during the grace"
        for _ in range(5):  # rounds every 10 s; the live worker pings again, the dead not
            clock.advance(10)
            await backend.ping_worker("live+1", "*", clock.time())
            await scheduler.tick()
            assert set(await backend.workers()) == {"live+1", "dead+1"}
        clock.advance(11)  # one stuck_worker_timeout after the gap: judged again
        await scheduler.tick()
        assert set(await backend.workers()) == {"live+1"}
    finally:
        await backend.aclose()
