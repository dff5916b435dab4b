"""Schedulers of both kinds on one namespace: one leader at a time, every delayed job moved
exactly once; and each side's scheduler cleans the other side's stuck workers."""

from __future__ import annotations

import asyncio
import collections
import signal
import time
from collections.abc import Callable
from pathlib import Path

from redis.asyncio import Redis

from stellar import App, Task
from stellar.backends.redis import RedisBackend
from stellar.codec import encode_job
from stellar.maintenance import FORCE_CLEAN_MARKER
from tests.helpers import eventually
from tests.integration.procs import spawn, stop, wait_for
from tests.interop.node import Node

ECHO, HOLD = "interop.echo", "interop.hold"
LEADER = "resque:resque_scheduler_leader_lock"


async def test_mixed_fleet_one_leader_and_every_delayed_job_moved_once(
    node: Node, make_app: Callable[..., App], redis_url: str
) -> None:
    """Leadership passes ours -> node-resque's -> ours while 1,000 delayed jobs (half
    filed by each side) fall due; a scheduler that does not lead moves nothing."""
    raw = Redis.from_url(redis_url, decode_responses=True)
    echo = Task(name=ECHO, description="moved, never run", run=lambda api, p: None)
    client = make_app([echo], processors=False, scheduler=False)
    base = time.time() + 2.0  # time to file the jobs and start the schedulers
    due = [base + 3.0 * i / 1000 for i in range(1000)]
    ours = [i for i in range(1000) if i % 2 == 0]
    theirs = [i for i in range(1000) if i % 2 == 1]
    async with client:
        for i in ours:
            await client.api.tasks.enqueue_at(due[i], ECHO, {"i": i}, queue="mixed")
    await node.queue(*(("enqueueAt", due[i] * 1000, "mixed", ECHO, [{"i": i}]) for i in theirs))

    seen: list[str | None] = []

    async def sample() -> None:
        while True:
            seen.append(await raw.get(LEADER))
            await asyncio.sleep(0.01)

    async def moved() -> int:
        return int(await raw.llen("resque:queue:mixed"))

    sampler = asyncio.create_task(sample())
    try:
        # long leases: the lock changes hands only by being released
        first = make_app([], processors=False, scheduler=True, leader_lock_timeout=5)
        async with first:
            await eventually(lambda: first.scheduler is not None and first.scheduler.leading)
            theirs_scheduler = await node.scheduler(leaderLockTimeout=5)
            await asyncio.sleep(max(0.3, base + 1.0 - time.time()))
            assert await raw.get(LEADER) == first.name
            assert theirs_scheduler.of("leader") == []
            handover = time.time()
        by_first = await moved()
        # ours released the lock on the way out: node-resque takes it at its next poll
        [became] = await theirs_scheduler.wait_for("leader", timeout=5)
        second = make_app([], processors=False, scheduler=True, leader_lock_timeout=5)
        async with second:
            await asyncio.sleep(max(0.0, handover + 1.0 - time.time()))
            assert second.scheduler is not None and not second.scheduler.leading
            await theirs_scheduler.stop()  # releases the lock too
            gone = time.time()
            await eventually(lambda: second.scheduler is not None and second.scheduler.leading)

            async def all_moved() -> bool:
                return await moved() == 1000

            await eventually(all_moved, timeout=max(5.0, base + 5 - time.time()))
            assert second.scheduler.leading
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)

    try:
        queued = await raw.lrange("resque:queue:mixed", 0, -1)
        counts = collections.Counter(queued)
        assert set(counts.values()) == {1}, "a delayed job was moved twice"
        assert set(counts) == {encode_job(ECHO, "mixed", [{"i": i}]) for i in range(1000)}
        assert await raw.zcard("resque:delayed_queue_schedule") == 0
        assert await raw.keys("resque:delayed:*") == []
        assert await raw.keys("resque:timestamps:*") == []
    finally:
        await raw.aclose()

    # one leader at a time, and each moved jobs only while it held the lock
    leaders = [name for name in dict.fromkeys(seen) if name is not None]
    assert leaders == [first.name, theirs_scheduler.of("ready")[0]["name"], second.name]
    by_node = theirs_scheduler.of("transferredJob")
    assert became["at"] >= handover
    assert all(handover <= e["at"] <= gone for e in by_node)
    assert by_first > 0 and len(by_node) > 0 and by_first + len(by_node) < 1000


# ----------------------------------------------------------------- stuck workers

SLEEPY_APP = """
import os, time
from stellar import task

@task(name="interop.sleepy", description="never ends", queue="py")
def sleepy(api, params):
    open(os.environ["STARTED_FILE"], "w").write("started")
    time.sleep(120)
"""

SLEEPY = "interop.sleepy"
P = {"k": "☃", "x": 1e-7, "url": "https://example.com/a/b", "n": [1, 2]}
# What node-resque's Lua pop (cjson) re-encodes unchanged: no "/", no fractions, no [].
PLAIN = {"k": "☃", "n": [1, 2], "s": "text"}


def worker_app(root: Path, redis_url: str) -> Path:
    root.mkdir()
    (root / "stellar.toml").write_text(f"""
[tasks]
backend = "{redis_url}"
namespace = "resque"
queues = ["py"]
poll_interval = 0.05
check_interval = 0.05
ping_interval = 0.2
scheduler_interval = 0.05
leader_lock_timeout = 1
stuck_worker_timeout = 60
min_processors = 1
max_processors = 1
""")
    tasks = root / "modules" / "interop" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "sleepy.py").write_text(SLEEPY_APP)
    return root


async def test_node_scheduler_cleans_a_stuck_python_worker(
    node: Node, make_app: Callable[..., App], redis_url: str, tmp_path: Path
) -> None:
    root = worker_app(tmp_path / "app", redis_url)
    started = tmp_path / "started"
    process = spawn(root, "worker", env={"STARTED_FILE": str(started)}, log=tmp_path / "w.log")
    sleepy = Task(name=SLEEPY, description="runs in the other process", run=lambda api, p: None)
    client = make_app([sleepy], processors=False, scheduler=False)
    try:
        async with client:
            tasks = client.api.tasks
            await tasks.enqueue(SLEEPY, P, queue="py")
            await asyncio.to_thread(wait_for, started.exists, 20)
            [info] = await tasks.workers()
            assert info.working_on is not None and info.working_on.job is not None
        process.send_signal(signal.SIGKILL)  # its pings stop
        process.wait(5)

        scheduler = await node.scheduler(stuckWorkerTimeout=1000)
        [cleaned] = await scheduler.wait_for("cleanStuckWorker", timeout=10)
        await scheduler.stop()
        assert cleaned["worker"] == info.name
        record = cleaned["errorPayload"]
        assert record["payload"] == {"class": SLEEPY, "queue": "py", "args": [P]}
        assert record["backtrace"][1] == FORCE_CLEAN_MARKER

        async with client:
            tasks = client.api.tasks
            assert await tasks.workers() == []
            [failed] = await tasks.failed()
            assert failed.worker == info.name and failed.queue == "py"
            assert failed.exception == "Worker Timeout (killed manually)"
            assert failed.backtrace[1] == FORCE_CLEAN_MARKER
            # node re-encoded our payload with JSON.stringify: the same bytes as ours
            assert failed.job is not None and failed.job.payload == encode_job(SLEEPY, "py", [P])
            assert await tasks.retry_and_remove_failed(failed) is True
            assert [j.payload for j in await tasks.queued("py")] == [encode_job(SLEEPY, "py", [P])]
    finally:
        if process.poll() is None:
            stop(process)


BEAT_APP = """
import os, time
from stellar import task

@task(name="interop.beat", description="periodic; its first run never ends", queue="py",
      frequency=0.2)
def beat(api, params):
    with open(os.environ["BEATS_FILE"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    if os.environ.get("HANG"):
        time.sleep(120)
"""


async def test_a_periodic_task_heals_after_node_cleans_its_dead_python_worker(
    node: Node, redis_url: str, tmp_path: Path
) -> None:
    """node-resque's forceCleanWorker leaves the dead worker's working-on record behind;
    that stale record must not keep the periodic task from being seeded again."""
    root = worker_app(tmp_path / "app", redis_url)
    (root / "modules" / "interop" / "tasks" / "sleepy.py").write_text(BEAT_APP)
    beats = tmp_path / "beats"
    runs = lambda: beats.read_text().split() if beats.exists() else []  # noqa: E731
    env = {"BEATS_FILE": str(beats), "HANG": "1", "STELLAR_SCHEDULER": "true"}
    hanging = spawn(root, "run", env=env, log=tmp_path / "run.log")
    try:
        await asyncio.to_thread(wait_for, lambda: len(runs()) == 1, 20)
        hanging.send_signal(signal.SIGKILL)
        hanging.wait(5)
    finally:
        if hanging.poll() is None:
            hanging.kill()
    scheduler = await node.scheduler(stuckWorkerTimeout=1000, leaderLockTimeout=1)
    await scheduler.wait_for("cleanStuckWorker", timeout=10)
    await scheduler.stop()

    healthy = spawn(root, "run", env={**env, "HANG": ""}, log=tmp_path / "run2.log")
    try:
        # the dead copy is gone: the new process seeds the task again and runs it
        await asyncio.to_thread(wait_for, lambda: len(runs()) >= 3, 15)
    finally:
        assert stop(healthy) == 0
    assert runs()[1] == runs()[2] == str(healthy.pid)


async def test_our_scheduler_cleans_a_stuck_node_worker(
    node: Node, make_app: Callable[..., App], redis_url: str
) -> None:
    worker = await node.worker(["js"], jobs={HOLD: {"hang": True}})
    name = worker.of("ready")[0]["worker"]
    task = Task(name=HOLD, description="hangs in node", run=lambda api, p: None, queue="js")
    async with make_app([task], processors=False, scheduler=False) as client:
        await client.api.tasks.enqueue(HOLD, PLAIN)
    await worker.wait_for("perform")
    worker.kill()  # its pings stop; node-resque leaves everything behind

    app = make_app([task], processors=False, scheduler=True, stuck_worker_timeout=1.0)
    async with app:
        tasks = app.api.tasks

        async def cleaned() -> bool:
            return await tasks.failed_count() == 1

        await eventually(cleaned, timeout=10)
        assert await tasks.workers() == []
        [failed] = await tasks.failed()
    assert failed.worker == name and failed.queue == "js"
    assert failed.exception == "WorkerDied"
    assert failed.backtrace[1] == FORCE_CLEAN_MARKER
    assert failed.job is not None and failed.job.task == HOLD and failed.job.args == (PLAIN,)

    raw = Redis.from_url(redis_url, decode_responses=True)
    try:  # unlike node-resque's forceCleanWorker, nothing of the worker is left
        assert await raw.keys(f"resque:worker:*{name}*") == []
        assert await raw.keys(f"resque:stat:*:{name}") == []
    finally:
        await raw.aclose()

    # node-resque's retryStuckJobs recognises our record and re-queues the job
    assert await node.queue(("retryStuckJobs",), ("failedCount",), ("length", "js")) == [
        None, 0, 1,
    ]  # fmt: skip
    worker = await node.worker(["js"], count=1, jobs={HOLD: {}})
    await worker.wait()
    [performed] = worker.of("perform")
    assert performed["args"] == [PLAIN]


async def test_node_retries_what_we_cleaned_off_a_node_worker_whatever_its_params(
    node: Node, make_app: Callable[..., App]
) -> None:
    worker = await node.worker(["js"], jobs={HOLD: {"hang": True}})
    await node.queue(("enqueue", "js", HOLD, [P]))
    await worker.wait_for("perform")
    worker.kill()
    app = make_app([], processors=False, scheduler=True, stuck_worker_timeout=1.0)
    async with app:

        async def cleaned() -> bool:
            return await app.api.tasks.failed_count() == 1

        await eventually(cleaned, timeout=10)
    assert await node.queue(("retryStuckJobs",), ("failedCount",)) == [None, 0]


async def test_our_scheduler_requeues_a_stuck_node_workers_job(
    node: Node, make_app: Callable[..., App]
) -> None:
    """With ``retry_stuck_jobs`` the job goes straight back to its queue."""
    worker = await node.worker(["js"], jobs={HOLD: {"hang": True}})
    await node.queue(("enqueue", "js", HOLD, [P]))
    await worker.wait_for("perform")
    worker.kill()
    app = make_app(
        [], processors=False, scheduler=True, stuck_worker_timeout=1.0, retry_stuck_jobs=True
    )
    async with app:
        tasks = app.api.tasks

        async def requeued() -> bool:
            return await tasks.length("js") == 1

        await eventually(requeued, timeout=10)
        assert await tasks.failed_count() == 0 and await tasks.workers() == []
    worker = await node.worker(["js"], count=1, jobs={HOLD: {}})
    await worker.wait()
    assert worker.of("perform")[0]["args"] == [P]


async def test_a_record_node_leaves_behind_does_not_block_periodic_seeding(
    node: Node, redis_url: str
) -> None:
    """node-resque's forceCleanWorker unregisters a worker and deletes its ping but not
    its working-on record: while the worker pings again it is alive and its job counts
    as the running copy; once it stays silent the leftover no longer does."""
    store = RedisBackend(redis_url)
    raw = Redis.from_url(redis_url, decode_responses=True)
    tick, name = encode_job("tick", "q", [{}]), "host:1+1"
    try:
        await store.push("q", [tick])
        await store.register_worker(name, "q", time.time())
        assert await store.claim(["q"], name, "q", time.time()) is not None
        assert await store.ensure_delayed("tick", "q", tick, time.time()) is False

        [record] = await node.queue(("forceCleanWorker", name))
        assert record["payload"] == {"class": "tick", "queue": "q", "args": [{}]}
        assert await store.workers() == {}
        assert await raw.exists(f"resque:worker:{name}:q") == 1  # left behind

        await store.ping_worker(name, "q", time.time())  # the worker was alive after all
        assert await store.ensure_delayed("tick", "q", tick, time.time()) is False
        await raw.delete(f"resque:worker:ping:{name}")  # ... or it is dead
        assert await store.ensure_delayed("tick", "q", tick, time.time()) is True
    finally:
        await store.aclose()
        await raw.aclose()
