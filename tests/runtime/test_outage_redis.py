"""A private redis-server stopped and restarted on the same port while an application
runs: clients get a clear BackendUnavailable, processors and the scheduler back off, the
outage is logged once, and everything recovers without a restart. Nothing is lost."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stellar import App, BackendUnavailable, Task
from tests.conftest import RedisServer, missing_service
from tests.helpers import FAST, eventually

PERSISTENT = ("--appendonly", "yes", "--appendfsync", "always")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    try:
        import stellar.backends.redis  # noqa: F401
    except ImportError as exc:
        missing_service(f"the Redis backend cannot be imported: {exc}")
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis", None, *PERSISTENT)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    records = [r for r in caplog.records if r.name.startswith("stellar.")]
    down = sum(1 for r in records if "backend unavailable" in r.getMessage())
    back = sum(1 for r in records if "backend is back" in r.getMessage())
    return down, back


def app_on(server: RedisServer, tmp_path: Path, tasks: list[Task], **kw: Any) -> App:
    options: dict[str, Any] = {**FAST, "backend": server.url, "max_processors": 4, **kw}
    return App(tmp_path, tasks=tasks, env={}, **options)


async def test_a_short_outage_while_jobs_run(
    server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stellar")
    runs: collections.Counter[int] = collections.Counter()

    async def work(api: Any, params: Any) -> None:
        await asyncio.sleep(0.01)
        runs[params["n"]] += 1

    t = Task(name="o.work", description="d", run=work)
    # stuck_worker_timeout well above the outage: no live worker is taken for dead
    async with app_on(server, tmp_path, [t], stuck_worker_timeout=20) as app:
        tasks = app.api.tasks
        assert await tasks.enqueue_many("o.work", [{"n": n} for n in range(300)]) == 300
        await eventually(lambda: len(runs) >= 50)
        server.stop()  # mid-run
        with pytest.raises(BackendUnavailable, match=rf"127\.0\.0\.1:{server.port} is unreachable"):
            await tasks.enqueue("o.work", {"n": -1})
        with pytest.raises(BackendUnavailable):
            await tasks.stats()
        done_during_outage = len(runs)
        await asyncio.sleep(1.5)
        assert len(runs) - done_during_outage <= 4  # at most the jobs already running
        server.start()  # same port, same data (append-only file)
        await eventually(lambda: len(runs) == 300, timeout=20)
        await tasks.enqueue("o.work", {"n": 300})  # the client works again, no restart
        await eventually(lambda: len(runs) == 301, timeout=10)

        # a job counts in `runs` when it ran; its outcome is stored just after (jobs that
        # ran during the outage store theirs once their back-off ends)
        async def all_processed() -> bool:
            return (await tasks.stats()).get("processed") == 301

        await eventually(all_processed, timeout=10)
        assert await tasks.failed_count() == 0
        workers = await tasks.workers()
        assert workers and all(w.working_on is None or w.working_on.job for w in workers)
    assert sorted(runs) == list(range(301))
    assert set(runs.values()) == {1}, f"ran twice: {[n for n, c in runs.items() if c > 1]}"
    assert outage_lines(caplog) == (1, 1)


async def test_a_long_outage_takes_no_job_and_no_worker_away(
    server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Longer than stuck_worker_timeout: when Redis is back the scheduler sees every
    worker's last ping as too old. Workers holding a job have it requeued under them
    (retry_stuck_jobs), re-register, and drop their own outcome; so every job ends up
    done, some maybe twice (reported), and none is lost or stuck."""
    caplog.set_level(logging.INFO, logger="stellar")
    runs: collections.Counter[int] = collections.Counter()
    gate = asyncio.Event()

    async def work(api: Any, params: Any) -> None:
        if params["n"] < 4:
            await gate.wait()  # four long jobs, in progress across the whole outage
        runs[params["n"]] += 1

    t = Task(name="o.work", description="d", run=work)
    async with app_on(server, tmp_path, [t], min_processors=4, stuck_worker_timeout=1.0,
                      ping_interval=0.2, retry_stuck_jobs=True) as app:  # fmt: skip
        tasks = app.api.tasks
        await tasks.enqueue_many("o.work", [{"n": n} for n in range(4)])
        pool = app.pool
        assert pool is not None
        await eventually(lambda: sum(s.worker.busy for s in pool.slots) == 4)
        await tasks.enqueue_many("o.work", [{"n": n} for n in range(4, 40)])
        server.stop()
        await asyncio.sleep(2.0)
        server.start()
        await asyncio.sleep(1.5)  # the scheduler cleans the "dead" workers meanwhile
        gate.set()
        await eventually(lambda: len(runs) == 40, timeout=20)
        await eventually(lambda: sum(runs.values()) >= 40 and _quiet(app), timeout=10)
        failed = await tasks.failed()
        names = {w.name for w in await tasks.workers()}
        assert app.pool is not None
        assert {s.worker.name for s in app.pool.slots} <= names, "a live worker is invisible"
    doubles = {n: c for n, c in runs.items() if c > 1}
    print(f"long outage: {len(doubles)} job(s) ran twice: {sorted(doubles)}")
    assert sorted(runs) == list(range(40))
    assert set(doubles) <= set(range(4)), "only the jobs running across the outage may rerun"
    assert failed == []
    assert outage_lines(caplog)[0] == 1


def _quiet(app: App) -> bool:
    return app.pool is not None and not any(s.worker.busy for s in app.pool.slots)


async def test_after_a_restart_one_command_fails_not_one_per_kept_connection(
    server: RedisServer,
) -> None:
    """The backend keeps idle connections for its processors (``prepare``). After the
    server restarts they are all dead, but each would only say so on its next command,
    which is never sent twice: a shutdown's last writes could each fail on one. The
    first failure closes them all; the next commands open fresh connections."""
    from stellar.backends import open_backend

    backend = open_backend(server.url)
    job = '{"class":"t","queue":"q","args":[]}'
    try:
        await backend.push("q", [job])  # the scripts are loaded
        await backend.prepare(6)
        server.stop()
        server.start()
        with pytest.raises(BackendUnavailable):
            await backend.push("q", [job])  # a kept connection finds the server gone
        # at once, as a pool's processors settle or unregister: each on another connection
        await asyncio.gather(*(backend.push("q", [job]) for _ in range(6)))
        assert await backend.length("q") == 7
    finally:
        await backend.aclose()
