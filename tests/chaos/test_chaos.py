"""Chaos: 2,000 jobs through three ``stellar worker`` processes (plus a scheduler
process) while processes are SIGKILLed and restarted at random moments, over and over;
and, on Redis, while the server itself is stopped and restarted mid-run.

At the end every job has run (directly, or after a failed record was retried): zero
lost. Double executions are counted, printed, written to ``tests/artifacts`` and put in
every assertion message. The periodic task kept running and never ran as two copies at
once. ``CHAOS_SEED`` replays a run's random choices.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stellar import FailedJob, Tasks
from tests.chaos.harness import Chaos, client, wait_until
from tests.conftest import RedisServer, missing_service

PERSISTENT = ("--appendonly", "yes", "--appendfsync", "always")

# A run takes 20-35 s; the deadlines inside are for runs that go wrong, so that they end
# with an account of what went wrong rather than a timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(170)]


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server that writes every change to its append-only file, so that
    a restart (even after SIGKILL) keeps every acknowledged write."""
    try:
        import stellar.backends.redis  # noqa: F401
    except ImportError as exc:
        missing_service(f"the Redis backend cannot be imported: {exc}")
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis", None, *PERSISTENT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def pid_of(worker_name: str) -> int:
    """``host:pid+N`` (or ``host:pid``) -> pid."""
    return int(worker_name.rsplit(":", 1)[1].split("+")[0])


def enqueue_all(chaos: Chaos) -> None:
    params = [{"id": i, "ms": chaos.random.randint(30, 150)} for i in range(chaos.jobs)]
    queued = client(chaos.root, lambda t: t.enqueue_many("chaos.work", params))
    assert queued == chaos.jobs


def only_live_workers(chaos: Chaos) -> bool:
    """Every registered worker is a live process: the dead ones were cleaned up (their
    jobs moved to the failed list, or back to the queue)."""
    live = chaos.live_pids()
    return all(pid_of(w.name) in live for w in client(chaos.root, lambda t: t.workers()))


def retry_failed(chaos: Chaos, retried: list[FailedJob]) -> int:
    """Retry every failed chaos.work job; drop failed periodic copies (the scheduler
    re-seeds those). Returns how many records were handled."""

    async def handle(tasks: Tasks) -> int:
        records = await tasks.failed()
        for record in records:
            if record.job is not None and record.job.task == "chaos.work":
                retried.append(record)
                await tasks.retry_and_remove_failed(record)
            else:
                await tasks.remove_failed(record)
        return len(records)

    return client(chaos.root, handle)


def account(chaos: Chaos, name: str, retried: list[FailedJob], chaos_end: float,
            duration: float, extra: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    counts = chaos.done_counts()
    doubles = sorted(i for i, c in counts.items() if c > 1)
    problems, gap, beats = chaos.beat_report(until=chaos_end)
    summary: dict[str, Any] = {
        "backend": name,
        "jobs": chaos.jobs,
        "ran": len(counts),
        "lost": sorted(set(range(chaos.jobs)) - set(counts))[:20],
        "double_executions": len(doubles),
        "double_ids": doubles[:50],
        "kills": len(chaos.kills),
        "worker_kills": sum(1 for k in chaos.kills if k.role == "worker"),
        "scheduler_kills": sum(1 for k in chaos.kills if k.role == "scheduler"),
        "outages": [round(b - a, 2) for a, b in chaos.outages],
        "failed_records_retried": len(retried),
        "failed_exceptions": sorted({r.exception for r in retried}),
        "beat_runs": beats,
        "beat_longest_gap_s": round(gap, 2),
        "beat_longest_gap": chaos.gap_detail,
        "beat_problems": problems[:10],
        "duration_s": round(duration, 1),
        "seed": chaos.seed,
        **extra,
    }
    chaos.save(name, summary)
    print(f"\nchaos {name}: {summary}")
    return summary


def finish(chaos: Chaos, retried: list[FailedJob], timeout: float = 40) -> None:
    """Wait until the dead are cleaned up and the queue is empty, retry what failed,
    and again, until every job has run."""

    def everything_ran() -> bool:
        if client(chaos.root, lambda t: t.length("default")) or not only_live_workers(chaos):
            return False
        retry_failed(chaos, retried)
        return len(chaos.done_counts()) == chaos.jobs and not client(
            chaos.root, lambda t: t.failed_count()
        )

    def state() -> str:
        left = client(chaos.root, _leftovers)
        missing = sorted(set(range(chaos.jobs)) - set(chaos.done_counts()))
        return (f"missing {len(missing)}: {missing[:20]}; backend: {left}; "
                f"live: {sorted(chaos.live_pids())}\n{chaos.log_tail()}")  # fmt: skip

    wait_until(everything_ran, timeout, "every job ran", state)


def check(chaos: Chaos, summary: dict[str, Any], codes: list[int], beat_gap_limit: float) -> None:
    text = f"chaos summary: {summary}"
    assert summary["lost"] == [] and summary["ran"] == chaos.jobs, text
    assert codes == [0] * len(codes), f"{text}\n{chaos.log_tail()}"
    assert set(summary["failed_exceptions"]) <= {"WorkerDied"}, text
    # each killed worker held at most max_processors (4) jobs: only those can run twice
    assert summary["double_executions"] <= 4 * summary["worker_kills"] + 4 * len(
        summary["outages"]
    ), text
    assert summary["beat_problems"] == [], text
    assert summary["beat_runs"] >= 5, text
    assert summary["beat_longest_gap_s"] <= beat_gap_limit, text
    left = client(chaos.root, _leftovers)
    assert left == {"queued": 0, "failed": 0, "workers": [], "working": []}, f"{text}\n{left}"


async def _leftovers(tasks: Tasks) -> dict[str, Any]:
    workers = await tasks.workers()
    return {
        "queued": await tasks.length("default"),
        "failed": await tasks.failed_count(),
        "workers": [w.name for w in workers],
        "working": [w.name for w in workers if w.working_on is not None],
    }


async def _everything(tasks: Tasks) -> dict[str, Any]:
    return {
        "queues": {q: await tasks.length(q) for q in await tasks.queues()},
        "delayed": await tasks.all_delayed(),
        "workers": await tasks.workers(),
        "failed": await tasks.failed(),
    }


def kill_chaos(chaos: Chaos, name: str) -> None:
    enqueue_all(chaos)
    retried: list[FailedJob] = []
    t0 = time.monotonic()
    chaos.start()
    codes: list[int] = []
    try:
        # kill a process every 0.4-1.2 s while work is queued (at most 40 s of it)
        while time.monotonic() - t0 < 40:
            time.sleep(chaos.random.uniform(0.4, 1.2))
            chaos.kill_one(scheduler_share=0.15)
            if not client(chaos.root, lambda t: t.length("default")):
                break
        chaos_end = time.time()
        finish(chaos, retried)
        # the periodic task goes on after the chaos
        wait_until(lambda: any(r[2] > chaos_end + 0.5 for r in chaos.beat_rows()), 15,
                   "the periodic task runs after the chaos", chaos.log_tail)  # fmt: skip
        wait_until(lambda: only_live_workers(chaos), 15, "dead workers cleaned", chaos.log_tail)
    finally:
        codes = chaos.stop_all()
    duration = time.monotonic() - t0
    summary = account(chaos, name, retried, chaos_end, duration,
                      {"retry_stuck_jobs": chaos.retry_stuck_jobs})  # fmt: skip
    # a dead worker is cleaned after stuck_worker_timeout; a dead scheduler's lock lasts
    # leader_lock_timeout (1 s); either may meet a process that is still starting
    check(chaos, summary, codes, beat_gap_limit=10.0)


def test_sigkill_chaos_sqlite(tmp_path: Path) -> None:
    chaos = Chaos(tmp_path / "app", backend="sqlite:///tasks.db", retry_stuck_jobs=False)
    kill_chaos(chaos, "sqlite-sigkill")


def test_sigkill_chaos_redis(tmp_path: Path, redis: RedisServer) -> None:
    chaos = Chaos(tmp_path / "app", backend=redis.url, retry_stuck_jobs=True)
    kill_chaos(chaos, "redis-sigkill")


def test_redis_restart_chaos(tmp_path: Path, redis: RedisServer) -> None:
    """The Redis server goes away twice mid-run (SIGTERM, then SIGKILL) and comes back on
    the same port with its data; every process waits it out and carries on."""
    chaos = Chaos(tmp_path / "app", backend=redis.url, retry_stuck_jobs=True,
                  stuck_worker_timeout=5.0)  # fmt: skip
    enqueue_all(chaos)
    retried: list[FailedJob] = []
    t0 = time.monotonic()
    chaos.start()
    codes: list[int] = []
    try:
        for how in (signal.SIGTERM, signal.SIGKILL):
            wait_until(lambda: len(chaos.done_counts()) >= 400 * (len(chaos.outages) + 1), 40,
                       "progress before an outage", chaos.log_tail)  # fmt: skip
            down = time.time()
            assert redis.process is not None
            redis.process.send_signal(how)
            redis.process.wait(10)
            redis.process = None
            time.sleep(chaos.random.uniform(1.5, 2.5))
            redis.start()
            chaos.outages.append((down, time.time()))
        chaos_end = time.time()
        finish(chaos, retried)
        wait_until(lambda: any(r[2] > chaos_end + 0.5 for r in chaos.beat_rows()), 15,
                   "the periodic task runs after the outages", chaos.log_tail)  # fmt: skip
    finally:
        codes = chaos.stop_all()
    duration = time.monotonic() - t0
    summary = account(chaos, "redis-restart", retried, chaos_end, duration,
                      {"retry_stuck_jobs": True})  # fmt: skip
    # an outage, then the backoff of the loops (at most 5 s) before they notice
    check(chaos, summary, codes, beat_gap_limit=max(summary["outages"]) + 5.0 + 3.0)
