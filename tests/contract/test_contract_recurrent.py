"""Periodic jobs: ensure_delayed and the stop marks."""

from __future__ import annotations

from stellar.backends import Backend

from .payloads import job

TICK = job("tick", "q")


async def test_ensure_delayed_seeds_one_copy(backend: Backend) -> None:
    assert await backend.ensure_delayed("tick", "q", TICK, 100.5) is True
    assert await backend.scheduled_at(TICK) == [101]
    assert await backend.ensure_delayed("tick", "q", TICK, 100.5) is False
    assert await backend.ensure_delayed("tick", "q", TICK, 500.0) is False
    assert await backend.scheduled_at(TICK) == [101]


async def test_ensure_delayed_refuses_a_stopped_task(backend: Backend) -> None:
    await backend.stop_recurrent("tick")
    assert await backend.ensure_delayed("tick", "q", TICK, 100.0) is False
    assert await backend.delayed_count() == 0
    await backend.start_recurrent("tick")
    assert await backend.ensure_delayed("tick", "q", TICK, 100.0) is True


async def test_ensure_delayed_refuses_when_queued(backend: Backend) -> None:
    await backend.push("q", [job("tick", "q", {"other": 1}), TICK])
    assert await backend.ensure_delayed("tick", "q", TICK, 100.0) is False
    assert await backend.delayed_count() == 0
    assert await backend.remove("q", TICK) == 1
    assert await backend.ensure_delayed("tick", "q", TICK, 100.0) is True


async def test_ensure_delayed_refuses_when_delayed_at_any_time(backend: Backend) -> None:
    assert await backend.push_delayed(TICK, 5_000.0)
    assert await backend.ensure_delayed("tick", "q", TICK, 100.0) is False
    assert await backend.scheduled_at(TICK) == [5_000]


async def test_ensure_delayed_refuses_while_a_worker_runs_the_task(backend: Backend) -> None:
    running = job("tick", "q", {"older": "params"})
    await backend.push("q", [running])
    await backend.register_worker("host:1+1", "q", 1.0)
    assert await backend.claim(["q"], "host:1+1", "q", 1.0) is not None
    assert await backend.ensure_delayed("tick", "q", TICK, 100.0) is False
    assert await backend.delayed_count() == 0
    # another task's job in progress does not count
    assert await backend.ensure_delayed("tock", "q", job("tock", "q"), 100.0) is True
    await backend.finish("host:1+1", "q")
    assert await backend.ensure_delayed("tick", "q", TICK, 100.0) is True
    assert await backend.scheduled_at(TICK) == [100]


async def test_stop_and_start_recurrent(backend: Backend) -> None:
    assert await backend.stopped_recurrent() == set()
    await backend.stop_recurrent("a")
    await backend.stop_recurrent("b")
    await backend.stop_recurrent("a")
    assert await backend.stopped_recurrent() == {"a", "b"}
    await backend.start_recurrent("a")
    await backend.start_recurrent("never-stopped")
    assert await backend.stopped_recurrent() == {"b"}
