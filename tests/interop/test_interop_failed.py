"""A job that fails on one side is in the other's failed list, with the right fields, and
the other side's retry puts it back in its queue (the failed record matches by its exact
text: node-resque compares ``JSON.stringify(JSON.parse(record))`` with what is stored)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from stellar import App, Task
from stellar.codec import encode_job
from tests.helpers import eventually
from tests.interop.node import Node
from tests.interop.values import PARAMS

BOOM = "interop.boom"
PARAMS_ = {"n": 1, "x": 1e-7, "text": "☃ a/b", "deep": PARAMS[4]}


async def test_a_job_failing_in_node_is_in_our_failed_list_and_we_retry_it(
    node: Node, make_app: Callable[..., App]
) -> None:
    task = Task(name=BOOM, description="fails in node", run=lambda api, p: None, queue="js")
    payload = encode_job(BOOM, "js", [PARAMS_])
    async with make_app([task], processors=False, scheduler=False) as client:
        await client.api.tasks.enqueue(BOOM, PARAMS_)

    worker = await node.worker(["js"], count=1, jobs={BOOM: {"fail": "bad ☃ news"}})
    await worker.wait()
    name = worker.of("ready")[0]["worker"]

    async with make_app([task], processors=False, scheduler=False) as client:
        tasks = client.api.tasks
        [failed] = await tasks.failed()
        assert failed.worker == name
        assert failed.queue == "js"
        assert failed.job is not None and failed.job.task == BOOM
        assert failed.job.args == (PARAMS_,)
        assert failed.job.payload == failed.payload_text == payload
        assert (failed.exception, failed.error) == ("Error", "bad ☃ news")
        assert failed.backtrace and all(line.strip().startswith("at ") for line in failed.backtrace)
        assert failed.failed_at is not None
        assert abs(failed.failed_at.timestamp() - time.time()) < 30
        assert (await tasks.stats())["failed"] == 1

        assert await tasks.retry_and_remove_failed(failed) is True
        assert await tasks.failed_count() == 0
        assert [job.payload for job in await tasks.queued("js")] == [payload]

    worker = await node.worker(["js"], count=1, jobs={BOOM: {}})
    await worker.wait()
    [performed] = worker.of("perform")
    assert performed["job"] == payload and performed["args"] == [PARAMS_]


async def test_a_job_failing_here_is_in_nodes_failed_list_and_node_retries_it(
    node: Node, make_app: Callable[..., App], redis_url: str
) -> None:
    async def explode(api: Any, params: Any) -> None:
        raise ValueError(f"bad value ☃ {params['n']}")

    task = Task(name=BOOM, description="fails here", run=explode, queue="py")
    first, second = {**PARAMS_, "n": 1}, {**PARAMS_, "n": 2}
    async with make_app([task], queues=["py"], max_processors=1) as app:
        tasks = app.api.tasks
        await tasks.enqueue(BOOM, first)
        await tasks.enqueue(BOOM, second)

        async def both_failed() -> bool:
            return await tasks.failed_count() == 2

        await eventually(both_failed)
        ours = await tasks.failed()
        assert app.pool is not None
        worker_name = app.pool.slots[0].worker.name

    results = await node.queue(("failedCount",), ("failed", 0, -1), ("stats",))
    assert results[0] == 2
    records = results[1]
    for record, params, mine in zip(records, [first, second], ours, strict=True):
        assert record["worker"] == worker_name == mine.worker
        assert record["queue"] == "py"
        assert record["payload"] == {"class": BOOM, "queue": "py", "args": [params]}
        assert record["exception"] == "ValueError"
        assert record["error"] == f"bad value ☃ {params['n']}"
        assert isinstance(record["backtrace"], list) and record["backtrace"]
        assert any("explode" in line for line in record["backtrace"])
    assert results[2]["failed"] == "2"  # node's stats are strings

    # node parses the date we wrote, then removes and retries our records by their text
    parsed = await node.queue(*(("$parseDate", r["failed_at"]) for r in records))
    for when, mine in zip(parsed, ours, strict=True):
        assert mine.failed_at is not None and abs(when - mine.failed_at.timestamp()) < 1
    assert await node.queue(("$removeFailed", 0), ("$retryFailed", 0), ("failedCount",)) == [
        1, True, 0,
    ]  # fmt: skip
    raw = Redis.from_url(redis_url, decode_responses=True)
    try:
        assert await raw.lrange("resque:queue:py", 0, -1) == [encode_job(BOOM, "py", [second])]
    finally:
        await raw.aclose()
