"""Each side's management API reports the other's processes and data: workers, what they
work on, stats, locks, delayed timestamps, the scheduler leader; and our delete,
delete_delayed and scheduled_at find the jobs node-resque enqueued."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from typing import Any

from stellar import App, Task
from stellar.codec import encode_job
from stellar.plugins import QueueLock
from tests.helpers import eventually
from tests.interop.node import Node

ECHO, HOLD, LOCKED = "interop.echo", "interop.hold", "interop.locked"
P = {"k": "☃", "x": 1e-7, "n": [1, 2]}


def near(value: float, expected: float, slack: float = 10) -> bool:
    return abs(value - expected) <= slack


async def test_node_resque_reports_our_processes(node: Node, make_app: Callable[..., App]) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def hold(api: Any, params: Any) -> None:
        started.set()
        await release.wait()

    tasks_ = [
        Task(name=ECHO, description="does nothing", run=lambda api, p: None, queue="py"),
        Task(name=HOLD, description="waits", run=hold, queue="py"),
        Task(name=LOCKED, description="locked", run=lambda api, p: None, queue="parked",
             plugins=[QueueLock()]),
    ]  # fmt: skip
    app = make_app(tasks_, queues=["py"], min_processors=2, max_processors=2)
    async with app:
        tasks = app.api.tasks
        assert app.pool is not None
        await eventually(lambda: len(app.pool.slots) == 2)  # type: ignore[union-attr]
        await tasks.enqueue(ECHO, P)

        async def processed() -> bool:
            return (await tasks.stats()).get("processed") == 1

        await eventually(processed)
        await tasks.enqueue(HOLD, P)
        await asyncio.wait_for(started.wait(), 5)
        assert await tasks.enqueue(LOCKED, {"k": 1}) is True
        at = time.time() + 100.25
        await tasks.enqueue_at(at, ECHO, P)
        whole = math.ceil(time.time()) + 200
        await tasks.enqueue_at(whole, ECHO, {"k": 2})

        async def leading() -> bool:
            return await tasks.leader() == app.name

        await eventually(leading)
        ours = {w.name: w for w in await tasks.workers()}
        busy = next(w for w in ours.values() if w.working_on is not None)

        (workers, working, stats, locks, stamps, delayed, scheduled, leader, length,
         queues) = await node.queue(
            ("workers",), ("allWorkingOn",), ("stats",), ("locks",), ("timestamps",),
            ("allDelayed",), ("scheduledAt", "py", ECHO, [P]), ("leader",),
            ("length", "parked"), ("queues",),
        )  # fmt: skip
        release.set()

    assert workers == {name: "py" for name in ours}
    assert working.pop(busy.name) == {
        "run_at": working_record_run_at(busy), "queue": "py", "worker": busy.name,
        "payload": {"class": HOLD, "queue": "py", "args": [P]},
    }  # fmt: skip
    assert set(working.values()) == {"started"} and len(working) == 1
    [run_at] = await node.queue(("$parseDate", working_record_run_at(busy)))
    assert near(run_at, time.time())

    idle = next(name for name in ours if name != busy.name)
    assert stats["processed"] == "1"
    assert {k: v for k, v in stats.items() if k.startswith("processed:")} in (
        {f"processed:{busy.name}": "1"}, {f"processed:{idle}": "1"},
    )  # fmt: skip
    [(lock, expiry)] = locks.items()
    assert lock == f'lock:{LOCKED}:parked:[{{"k":1}}]'
    assert near(int(expiry), time.time() + 3601)
    assert stamps == [math.ceil(at) * 1000, whole * 1000]
    assert delayed == {
        str(math.ceil(at) * 1000): [{"class": ECHO, "queue": "py", "args": [P]}],
        str(whole * 1000): [{"class": ECHO, "queue": "py", "args": [{"k": 2}]}],
    }
    assert scheduled == [math.ceil(at)]
    assert leader == app.name
    assert length == 1
    assert sorted(queues) == ["parked", "py"]


def working_record_run_at(worker: Any) -> str:
    """The ``run_at`` text of a worker's working-on record (JS ``Date.toString()``)."""
    return str(json.loads(worker.working_on.raw)["run_at"])


async def test_we_report_node_resques_processes(node: Node, make_app: Callable[..., App]) -> None:
    simple = {"k": "☃", "n": [1, 2], "s": "a/b"}
    worker = await node.worker(["js"], jobs={ECHO: {}, HOLD: {"hang": True}}, timeout=50)
    scheduler = await node.scheduler(leaderLockTimeout=5)
    at_ms = (time.time() + 100.4) * 1000
    results = await node.queue(
        ("enqueue", "js", ECHO, [simple]),
        ("enqueue", "parked", LOCKED, [{"k": 1}]),
        ("enqueueAt", at_ms, "js", ECHO, [simple]),
        jobs={LOCKED: {"plugins": ["QueueLock"]}},
    )
    assert results == [True, True, True]
    await worker.wait_for("success")
    await node.queue(("enqueue", "js", HOLD, [simple]))
    await worker.wait_for("perform", lambda found: len(found) == 2)
    await scheduler.wait_for("leader")
    name = worker.of("ready")[0]["worker"]
    ts = math.floor(at_ms / 1000 + 0.5)

    async with make_app([], processors=False, scheduler=False) as client:
        tasks = client.api.tasks
        [info] = await tasks.workers()
        assert (info.name, info.queues) == (name, "js")
        assert info.started is not None and near(info.started.timestamp(), time.time())
        assert info.last_ping is not None and near(info.last_ping.timestamp(), time.time())
        doing = info.working_on
        assert doing is not None  # node-resque's Lua record, re-encoded by cjson
        assert (doing.worker, doing.queue) == (name, "js")
        assert doing.run_at is not None and near(doing.run_at.timestamp(), time.time())
        assert doing.job is not None and doing.job.task == HOLD and doing.job.args == (simple,)
        assert (await tasks.all_working_on()) == {name: doing}
        assert await tasks.working_on(name, "js") == doing

        assert await tasks.stats() == {"processed": 1, f"processed:{name}": 1}
        [(lock, expiry)] = (await tasks.locks()).items()
        assert lock == f'lock:{LOCKED}:parked:[{{"k":1}}]'
        assert near(expiry.timestamp(), time.time() + 3601)
        assert [t.timestamp() for t in await tasks.timestamps()] == [ts]
        delayed = await tasks.all_delayed()
        assert [
            (when.timestamp(), [j.payload for j in jobs]) for when, jobs in delayed.items()
        ] == [(ts, [encode_job(ECHO, "js", [simple])])]
        assert [t.timestamp() for t in await tasks.scheduled_at("js", ECHO, simple)] == [ts]
        assert await tasks.leader() == scheduler.of("ready")[0]["name"]
        details = await tasks.details()
        assert {(q.name, q.length) for q in details.queues} == {("js", 0), ("parked", 1)}
        assert details.delayed == 1 and details.leader == await tasks.leader()
    await scheduler.stop()
    worker.kill()


async def test_our_delete_and_delayed_api_find_jobs_node_enqueued(
    node: Node, make_app: Callable[..., App]
) -> None:
    one, two = {"b": 1, "10": 2, "s": "é"}, {"x": 1e-7}
    now_ms = time.time() * 1000
    stamps = [math.floor((now_ms + d) / 1000 + 0.5) for d in (50_000, 90_000)]
    await node.queue(
        ("enqueue", "js", ECHO, [one]),
        ("enqueue", "js", ECHO, [two]),
        ("enqueue", "js", ECHO, [one]),
        ("enqueueAt", now_ms + 50_000, "js", ECHO, [one]),
        ("enqueueAt", now_ms + 90_000, "js", ECHO, [one]),
        ("enqueueAt", now_ms + 90_000, "js", ECHO, [two]),
    )
    async with make_app([], processors=False, scheduler=False) as client:
        tasks = client.api.tasks
        assert await tasks.delete("js", ECHO, one) == 2
        assert [j.args for j in await tasks.queued("js")] == [(two,)]
        when = [int(t.timestamp()) for t in await tasks.scheduled_at("js", ECHO, one)]
        assert when == stamps
        removed = await tasks.delete_delayed("js", ECHO, one)
        assert [int(t.timestamp()) for t in removed] == stamps
        assert await tasks.scheduled_at("js", ECHO, one) == []

    # node-resque sees the same: the jobs are gone, the other timestamp stays
    scheduled, stamps_left, at_first, length = await node.queue(
        ("scheduledAt", "js", ECHO, [one]), ("timestamps",),
        ("delayedAt", now_ms + 50_000), ("length", "js"),
    )  # fmt: skip
    assert scheduled == []
    assert stamps_left == [stamps[1] * 1000]
    assert at_first == {"tasks": [], "rTimestamp": stamps[0]}
    assert length == 1

    async with make_app([], processors=False, scheduler=False) as client:
        assert await client.api.tasks.delete_delayed_at(stamps[1]) == 1
    assert await node.queue(("timestamps",), ("scheduledAt", "js", ECHO, [two])) == [[], []]


async def test_queue_locks_are_honoured_both_ways(node: Node, make_app: Callable[..., App]) -> None:
    locked = Task(name=LOCKED, description="locked", run=lambda api, p: None, queue="parked",
                  plugins=[QueueLock()])  # fmt: skip
    jobs = {LOCKED: {"plugins": ["QueueLock"]}}
    async with make_app([locked], processors=False, scheduler=False) as client:
        tasks = client.api.tasks
        assert await tasks.enqueue(LOCKED, {"k": 1}) is True
        # node-resque's QueueLock sees our lock, and we see its
        assert await node.queue(
            ("enqueue", "parked", LOCKED, [{"k": 1}]),
            ("enqueue", "parked", LOCKED, [{"k": 2}]),
            jobs=jobs,
        ) == [False, True]  # fmt: skip
        assert await tasks.enqueue(LOCKED, {"k": 2}) is False
        assert [j.params for j in await tasks.queued("parked")] == [{"k": 1}, {"k": 2}]
        assert set(await tasks.locks()) == {
            f'lock:{LOCKED}:parked:[{{"k":1}}]', f'lock:{LOCKED}:parked:[{{"k":2}}]',
        }  # fmt: skip
