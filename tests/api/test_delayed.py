"""Delayed jobs: timestamps, scheduled_at, delayed_at, delete_delayed, delete_delayed_at,
all_delayed (a listing) and delete_all_delayed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stellar import App, InvalidParams, InvalidTime

T0 = 4_000_000_000  # far in the future: no scheduler would move these


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def test_times_are_whole_seconds_rounded_up(client: App) -> None:
    tasks = client.api.tasks
    await tasks.enqueue_at(T0 + 10, "t.echo", {"n": 1})
    await tasks.enqueue_at(T0 + 0.2, "t.echo", {"n": 2})  # filed under T0 + 1
    await tasks.enqueue_at(at(T0 + 10), "t.other", {"n": 3})
    assert await tasks.timestamps() == [at(T0 + 1), at(T0 + 10)]
    assert await tasks.scheduled_at("default", "t.echo", {"n": 2}) == [at(T0 + 1)]
    assert await tasks.scheduled_at("default", "t.echo", {"n": 9}) == []
    assert [j.params for j in await tasks.delayed_at(T0 + 10)] == [{"n": 1}, {"n": 3}]
    assert [j.queue for j in await tasks.delayed_at(at(T0 + 10))] == ["default", "other"]
    assert [j.params for j in await tasks.delayed_at(T0 + 0.5)] == [{"n": 2}]  # rounded up
    assert await tasks.delayed_at(T0 + 2) == []
    with pytest.raises(InvalidTime, match="naive datetime"):
        await tasks.delayed_at(datetime(2030, 1, 1))


async def test_delete_delayed_removes_every_copy_with_exact_params(client: App) -> None:
    tasks = client.api.tasks
    for offset in (5, 50, 500):
        await tasks.enqueue_at(T0 + offset, "t.echo", {"a": 1, "b": 2})
    await tasks.enqueue_at(T0 + 5, "t.echo", {"a": 2})
    await tasks.enqueue_at(T0 + 5, "t.echo", {"b": 2, "a": 1})  # other JSON text
    assert await tasks.delete_delayed("default", "t.echo", {"b": 2, "a": 1}) == [at(T0 + 5)]
    removed = await tasks.delete_delayed("default", "t.echo", {"a": 1, "b": 2})
    assert removed == [at(T0 + 5), at(T0 + 50), at(T0 + 500)]
    assert await tasks.delete_delayed("default", "t.echo", {"a": 1, "b": 2}) == []
    assert await tasks.delete_delayed("other", "t.echo", {"a": 2}) == []  # queue is part of it
    assert await tasks.scheduled_at("default", "t.echo", {"a": 1, "b": 2}) == []
    assert [j.params for j in await tasks.delayed_at(T0 + 5)] == [{"a": 2}]
    assert await tasks.timestamps() == [at(T0 + 5)]
    with pytest.raises(InvalidParams):
        await tasks.delete_delayed("", "t.echo")


async def test_delete_delayed_at_empties_one_second(client: App) -> None:
    tasks = client.api.tasks
    for n in range(3):
        await tasks.enqueue_at(T0 + 7, "t.echo", {"n": n})
    await tasks.enqueue_at(T0 + 8, "t.echo", {"n": 9})
    assert await tasks.delete_delayed_at(T0 + 6.5) == 3  # the second it rounds up to
    assert await tasks.timestamps() == [at(T0 + 8)]
    assert await tasks.scheduled_at("default", "t.echo", {"n": 0}) == []
    assert await tasks.delete_delayed_at(at(T0 + 7)) == 0
    # the same job can be delayed at that second again: nothing of it was left behind
    await tasks.enqueue_at(T0 + 7, "t.echo", {"n": 0})
    assert await tasks.scheduled_at("default", "t.echo", {"n": 0}) == [at(T0 + 7)]


async def test_all_delayed_lists_and_removes_nothing(client: App) -> None:
    tasks = client.api.tasks
    assert await tasks.all_delayed() == {}
    await tasks.enqueue_at(T0 + 3, "t.echo", {"n": 1})
    await tasks.enqueue_at(T0 + 3, "t.other", {"n": 2})
    await tasks.enqueue_at(T0 + 1, "t.echo", {"n": 3})
    listing = await tasks.all_delayed()
    assert list(listing) == [at(T0 + 1), at(T0 + 3)]
    assert [(j.task, j.params) for j in listing[at(T0 + 3)]] == [
        ("t.echo", {"n": 1}),
        ("t.other", {"n": 2}),
    ]
    assert await tasks.all_delayed() == listing
    assert (await tasks.details()).delayed == 3


async def test_delete_all_delayed_removes_everything_delayed_only(client: App) -> None:
    tasks = client.api.tasks
    for n in range(4):
        await tasks.enqueue_at(T0 + n, "t.echo", {"n": n})
    await tasks.enqueue_in(60, "t.other")
    await tasks.enqueue("t.echo", {"queued": True})
    assert await tasks.delete_all_delayed() == 5
    assert await tasks.timestamps() == []
    assert await tasks.all_delayed() == {}
    assert (await tasks.details()).delayed == 0
    assert await tasks.length("default") == 1
    assert await tasks.delete_all_delayed() == 0
