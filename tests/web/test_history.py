"""The dashboard's memory: per-minute throughput and queue-head ages."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stellar.web import create_app
from stellar.web.history import History
from tests.web.support import make_app

T0 = 1_700_000_000.0 - 1_700_000_000.0 % 60  # a minute boundary


def test_throughput_per_minute_counts_increases_in_the_later_sample_minute() -> None:
    history = History(interval=5)
    processed = failed = 0
    for i in range(0, 24):  # two minutes, a sample every 5 s
        history.add(T0 + i * 5, {"processed": processed, "failed": failed}, {})
        processed += 3
        failed += 1 if i % 4 == 0 else 0
    minutes = history.per_minute(T0 + 119, minutes=4)
    assert [m.start for m in minutes] == [T0 - 120, T0 - 60, T0, T0 + 60]
    assert [m.processed for m in minutes] == [None, None, 33, 36]
    assert [m.failed for m in minutes] == [None, None, 3, 3]


def test_a_counter_reset_counts_the_new_value() -> None:
    history = History(interval=5)
    for t, value in ((0, 100), (5, 110), (10, 4), (15, 6)):
        history.add(T0 + t, {"processed": value}, {})
    assert history.per_minute(T0 + 20, minutes=1)[0].processed == 10 + 4 + 2


def test_the_buffer_keeps_one_hour() -> None:
    history = History(interval=10)
    for i in range(1000):
        history.add(T0 + i * 10, {"processed": i}, {})
    assert history.started is not None and history.started >= T0 + 9990 - 3600 - 200
    minutes = history.per_minute(T0 + 9990)
    assert all(m.processed == 6 for m in minutes[1:-1])


def test_head_age_restarts_when_the_head_changes_or_the_queue_shrinks() -> None:
    history = History(interval=5)
    history.add(T0, {}, {"q": (3, "a")})
    history.add(T0 + 30, {}, {"q": (4, "a")})
    assert history.oldest_age("q", T0 + 40) == 40
    history.add(T0 + 45, {}, {"q": (3, "a")})  # same payload, but one job left
    assert history.oldest_age("q", T0 + 50) == 5
    history.add(T0 + 50, {}, {"q": (3, "b")})
    assert history.oldest_age("q", T0 + 50) == 0
    history.add(T0 + 55, {}, {"q": (0, None)})
    assert history.oldest_age("q", T0 + 99) == 0
    assert history.oldest_age("unknown", T0) == 0


async def test_the_sampler_runs_with_the_lifespan_and_stops(tmp_path: Path) -> None:
    async with make_app(tmp_path) as app:
        web = create_app(app, sample_interval=0.02)
        sampler = web.state.dashboard.sampler
        async with web.router.lifespan_context(web):
            await app.api.tasks.enqueue("email.send", {})
            for _ in range(100):
                if len(sampler.history._samples) >= 3:
                    break
                await asyncio.sleep(0.01)
            assert len(sampler.history._samples) >= 3
            assert sampler._task is not None and not sampler._task.done()
        assert sampler._task is None


async def test_the_sampler_starts_with_the_first_request_when_mounted(tmp_path: Path) -> None:
    import httpx

    async with make_app(tmp_path) as app:
        web = create_app(app, sample_interval=60)
        sampler = web.state.dashboard.sampler
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            assert sampler._task is None
            await c.get("/api/queues")
            assert sampler._task is not None
        await sampler.stop()
        assert sampler._task is None


async def test_the_sampler_waits_for_the_application_to_start(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    web = create_app(app, sample_interval=0.02)
    sampler = web.state.dashboard.sampler
    async with web.router.lifespan_context(web):
        await asyncio.sleep(0.1)  # not started: the driver logs once and goes on
        assert sampler.history.last is None and not sampler._task.done()
        async with app:
            for _ in range(100):
                if sampler.history.last is not None:
                    break
                await asyncio.sleep(0.01)
            assert sampler.history.last is not None
