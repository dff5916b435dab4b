"""Queues: queues, length, queued, delete (count and exact params), delete_queue."""

from __future__ import annotations

from typing import Any

import pytest

from stellar import App, InvalidParams
from stellar.codec import encode_job


async def params_in(app: App, queue: str = "default") -> list[Any]:
    return [job.params for job in await app.api.tasks.queued(queue)]


async def test_queues_length_and_queued(client: App) -> None:
    tasks = client.api.tasks
    assert await tasks.queues() == []
    assert await tasks.length("default") == 0
    for n in range(5):
        await tasks.enqueue("t.echo", {"n": n})
    await tasks.enqueue("t.other", {"n": 9})
    assert await tasks.queues() == ["default", "other"]
    assert await tasks.length("default") == 5 and await tasks.length("other") == 1
    assert [j.params["n"] for j in await tasks.queued("default")] == [0, 1, 2, 3, 4]
    assert [j.params["n"] for j in await tasks.queued("default", 1, 2)] == [1, 2]
    assert [j.params["n"] for j in await tasks.queued("default", -2, -1)] == [3, 4]
    assert await tasks.queued("default", 7, 9) == []
    [job] = await tasks.queued("other")
    assert (job.task, job.queue, job.args) == ("t.other", "other", ({"n": 9},))
    assert job.payload == '{"class":"t.other","queue":"other","args":[{"n":9}]}'


async def test_delete_count_zero_removes_every_exact_match(client: App) -> None:
    tasks = client.api.tasks
    for params in ({"a": 1}, {"b": 1}, {"a": 1}, None, {"a": 1}):
        await tasks.enqueue("t.echo", params)
    await tasks.enqueue("t.other", {"a": 1}, queue="default")  # same params, other task
    assert await tasks.delete("default", "t.echo", {"a": 1}) == 3
    assert await params_in(client) == [{"b": 1}, {}, {"a": 1}]
    assert await tasks.delete("default", "t.echo", {"a": 1}) == 0
    assert await tasks.delete("default", "t.echo") == 1  # None means {} (as enqueue does)
    assert await params_in(client) == [{"b": 1}, {"a": 1}]


@pytest.mark.parametrize(
    ("count", "left"),
    [
        (1, ["x", "a", "y", "a"]),
        (2, ["x", "y", "a"]),
        (-1, ["a", "x", "a", "y"]),
        (-2, ["a", "x", "y"]),
        (10, ["x", "y"]),
        (-10, ["x", "y"]),
    ],
)
async def test_delete_count_from_head_or_tail(client: App, count: int, left: list[str]) -> None:
    tasks = client.api.tasks
    for tag in ["a", "x", "a", "y", "a"]:
        await tasks.enqueue("t.echo", {"tag": tag})
    removed = await tasks.delete("default", "t.echo", {"tag": "a"}, count)
    assert removed == min(abs(count), 3)
    assert [p["tag"] for p in await params_in(client)] == left


@pytest.mark.parametrize(
    ("queued", "asked", "matches"),
    [
        ({"a": 1, "b": 2}, {"a": 1, "b": 2}, True),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, False),  # JSON text differs: key order
        ({"n": 1}, {"n": 1.0}, True),  # JavaScript writes 1.0 as 1
        ({"n": 1}, {"n": True}, False),
        ({"n": 0.1}, {"n": 0.1}, True),
        ({"n": 1e-7}, {"n": 0.0000001}, True),
        ({"s": "é"}, {"s": "é"}, True),
        ({"l": [1, 2]}, {"l": (1, 2)}, True),  # a tuple is a JSON array
        ({"l": [1, 2]}, {"l": [2, 1]}, False),
        ({}, None, True),
        ("text", "text", True),
        ("text", ["text"], False),
    ],
)
async def test_delete_matches_params_exactly(
    client: App, queued: Any, asked: Any, matches: bool
) -> None:
    tasks = client.api.tasks
    await tasks.enqueue("t.echo", queued)
    assert await tasks.delete("default", "t.echo", asked) == (1 if matches else 0)
    assert await tasks.length("default") == (0 if matches else 1)


async def test_delete_reaches_jobs_of_tasks_this_app_does_not_know(client: App) -> None:
    backend = client.backend
    assert backend is not None
    foreign = encode_job("node.only", "default", [{"id": 7}])
    await backend.push("default", [foreign, foreign])
    assert await client.api.tasks.delete("default", "node.only", {"id": 7}, 1) == 1
    assert await backend.queued("default") == [foreign]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "t.echo", None, 0), "queue must be a non-empty string"),
        (("default", "", None, 0), "task must be a non-empty string"),
        (("default", "t.echo", {"x": object()}, 0), "is not JSON"),
        (("default", "t.echo", {"x": float("nan")}, 0), "not a JSON number"),
        (("default", "t.echo", None, True), "count must be an integer"),
        (("default", "t.echo", None, 1.5), "count must be an integer"),
    ],
)
async def test_delete_refuses_bad_input(client: App, args: tuple[Any, ...], message: str) -> None:
    await client.api.tasks.enqueue("t.echo")
    with pytest.raises(InvalidParams, match=message):
        await client.api.tasks.delete(*args)
    assert await client.api.tasks.length("default") == 1


async def test_delete_queue_drops_the_queue_but_not_its_delayed_jobs(client: App) -> None:
    tasks = client.api.tasks
    for n in range(3):
        await tasks.enqueue("t.echo", {"n": n})
    await tasks.enqueue("t.other")
    await tasks.enqueue_in(3600, "t.echo", {"later": True})
    assert await tasks.delete_queue("default") == 3
    assert await tasks.queues() == ["other"]
    assert await tasks.length("default") == 0
    assert await tasks.length("other") == 1
    [[job]] = (await tasks.all_delayed()).values()
    assert job.params == {"later": True}
    assert await tasks.delete_queue("default") == 0
    assert await tasks.delete_queue("never") == 0
