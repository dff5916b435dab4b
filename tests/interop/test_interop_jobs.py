"""Jobs cross both ways: node-resque enqueues, we run; we enqueue, node-resque runs.

Arguments arrive intact (unicode, floats such as 1e-7, nested objects, integers up to
2**53), and the job text each side writes is byte-identical to the other's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from stellar import App, Task
from stellar.codec import encode_job
from tests.helpers import eventually
from tests.interop.node import Node
from tests.interop.values import EDGE, PARAMS

ECHO = "interop.echo"


def recorder(queue: str) -> tuple[Task, list[tuple[float, tuple[Any, ...]]]]:
    """A task that records when it ran and the arguments it got."""
    seen: list[tuple[float, tuple[Any, ...]]] = []

    async def echo(api: Any, *args: Any) -> None:
        seen.append((time.time(), args))

    return Task(name=ECHO, description="records its arguments", run=echo, queue=queue), seen


def js_round(seconds: float) -> int:
    """``Math.round``: how node-resque files a delayed job (half up)."""
    return math.floor(seconds + 0.5)


async def test_jobs_node_enqueues_run_in_our_workers(
    node: Node, make_app: Callable[..., App]
) -> None:
    task, seen = recorder("py")
    several, none = [1, "two", {"three": 3.5}], []
    before = time.time()
    at_ms = (before + 1.2) * 1000
    results = await node.queue(
        *(("enqueue", "py", ECHO, [p]) for p in [*PARAMS, EDGE]),
        ("enqueue", "py", ECHO, several),
        ("enqueue", "py", ECHO, none),
        ("enqueueAt", at_ms, "py", ECHO, [{"when": "at"}]),
        ("enqueueIn", 300, "py", ECHO, [{"when": "in"}]),
    )
    after = time.time()
    assert results == [True] * (len(PARAMS) + 5)

    async with make_app([task], processors=False, scheduler=False) as client:
        queued = await client.api.tasks.queued("py")
        # node's JSON.stringify and our codec write the same bytes
        expected = [encode_job(ECHO, "py", [p]) for p in [*PARAMS, EDGE]]
        expected += [encode_job(ECHO, "py", several), encode_job(ECHO, "py", none)]
        assert [job.payload for job in queued] == expected
        assert [job.args for job in queued] == [(p,) for p in [*PARAMS, EDGE]] + [
            tuple(several), (),
        ]  # fmt: skip
        at_ts = js_round(at_ms / 1000)
        delayed = await client.api.tasks.all_delayed()
        assert {int(when.timestamp()) for when in delayed} >= {at_ts}

    async with make_app([task], queues=["py"], max_processors=2):
        await eventually(lambda: len(seen) == len(PARAMS) + 5, timeout=10)

    by_params = [args for _, args in seen]
    for params in [*PARAMS, EDGE]:
        assert (params,) in by_params
    assert tuple(several) in by_params
    assert ({},) in by_params  # empty args: run(api, {})
    when = {a[0]["when"]: ran for ran, a in seen if a and isinstance(a[0], dict) and "when" in a[0]}
    # our scheduler starts node's delayed jobs at their whole second, never before
    assert when["at"] >= at_ts
    assert when["in"] >= js_round(before + 0.3)
    assert when["in"] < js_round(after + 0.3) + 2


async def test_jobs_we_enqueue_run_in_nodes_worker(
    node: Node, make_app: Callable[..., App], redis_url: str
) -> None:
    task, _ = recorder("js")
    async with make_app([task], processors=False, scheduler=False) as client:
        for params in PARAMS:
            assert await client.api.tasks.enqueue(ECHO, params) is True
        await client.api.tasks.enqueue(ECHO)  # no params: {}
    payloads = [encode_job(ECHO, "js", [p]) for p in [*PARAMS, {}]]

    worker = await node.worker(["js"], count=len(payloads), jobs={ECHO: {}})
    await worker.wait()
    performed = worker.of("perform")
    # node-resque read exactly our text: JSON.stringify of what it parsed is our payload
    assert [e["job"] for e in performed] == payloads
    assert [e["args"] for e in performed] == [[p] for p in [*PARAMS, {}]]
    assert {e["worker"] for e in performed} == {worker.of("ready")[0]["worker"]}
    assert len(worker.of("success")) == len(payloads)

    raw = Redis.from_url(redis_url, decode_responses=True)
    try:
        assert await raw.get("resque:stat:processed") == str(len(payloads))
        assert await raw.smembers("resque:workers") == set()  # it untracked itself
    finally:
        await raw.aclose()


async def test_delayed_jobs_we_enqueue_run_through_nodes_scheduler(
    node: Node, make_app: Callable[..., App], redis_url: str
) -> None:
    task, _ = recorder("js")
    async with make_app([task], processors=False, scheduler=False) as client:
        tasks = client.api.tasks
        at = time.time() + 1.3
        assert abs((await tasks.enqueue_at(at, ECHO, {"when": "at"})).timestamp() - at) < 1e-5
        start = time.time()
        await tasks.enqueue_in(0.4, ECHO, {"when": "in"})
        in_at = start + 0.4
        assert {int(t.timestamp()) for t in await tasks.timestamps()} == {
            math.ceil(at), math.ceil(in_at),
        }  # fmt: skip

        scheduler = await node.scheduler()
        worker = await node.worker(["js"], count=2, jobs={ECHO: {}})
        await worker.wait()
        await scheduler.stop()

        ran = {e["args"][0]["when"]: e["at"] for e in worker.of("perform")}
        # node-resque files by whole second and compares with a rounded clock: it may
        # start one of our jobs up to half a second before the time we asked for
        assert ran["at"] >= at - 0.5 and ran["in"] >= in_at - 0.5
        moved = scheduler.of("transferredJob")
        assert sorted(e["timestamp"] for e in moved) == sorted([math.ceil(at), math.ceil(in_at)])
        assert await tasks.timestamps() == []

        # the precise index beside Resque's keys goes stale when node-resque moves the
        # jobs; our scheduler drops such entries once their time has come
        raw = Redis.from_url(redis_url, decode_responses=True)
        try:
            assert await raw.zcard("resque:stellar:delayed_precise") >= 1
            backend = client.backend
            assert backend is not None
            assert await backend.promote_due(math.ceil(at) + 1) == 0
            assert await raw.zcard("resque:stellar:delayed_precise") == 0
        finally:
            await raw.aclose()


async def test_our_jobs_run_in_nodes_multiworker(node: Node, make_app: Callable[..., App]) -> None:
    task, _ = recorder("js")
    async with make_app([task], processors=False, scheduler=False) as client:
        n = await client.api.tasks.enqueue_many(ECHO, ({"n": i, "x": i / 7} for i in range(30)))
        assert n == 30
    worker = await node.worker(
        ["js"], count=30, jobs={ECHO: {"sleep": 5}}, multi=True, maxTaskProcessors=3
    )
    await worker.wait()
    performed = worker.of("perform")
    assert sorted(e["args"][0]["n"] for e in performed) == list(range(30))
    assert all(e["args"][0]["x"] == e["args"][0]["n"] / 7 for e in performed)
    assert all(e["job"] == encode_job(ECHO, "js", [e["args"][0]]) for e in performed)
