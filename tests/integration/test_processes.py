"""Several real processes on one SQLite file: each job exactly once; periodic tasks heal."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from stellar import App, Tasks
from tests.integration.procs import spawn, stop, wait_for

T = TypeVar("T")

FAST_TOML = """
[tasks]
backend = "sqlite:///tasks.db"
poll_interval = 0.05
check_interval = 0.05
scheduler_interval = 0.1
ping_interval = 0.2
stuck_worker_timeout = 2
leader_lock_timeout = 1
shutdown_timeout = 5
min_processors = 2
max_processors = 4
"""

HIT = """
import os
from stellar import task

@task(name="count.hit", description="records which job ran where")
def hit(api, params):
    with open(os.environ["HITS_FILE"], "a") as f:
        f.write(f"{params['id']} {os.getpid()}\\n")
"""

BEAT = """
import os, time
from stellar import task

@task(name="clock.beat", description="a slow periodic task", frequency=0.2)
def beat(api, params):
    path = os.environ["BEATS_FILE"]
    with open(path, "a") as f:
        f.write(f"start {os.getpid()} {time.time()}\\n")
    time.sleep(0.4)
    with open(path, "a") as f:
        f.write(f"end {os.getpid()} {time.time()}\\n")
"""


def with_client(root: Path, call: Callable[[Tasks], Awaitable[T]]) -> T:
    async def main() -> T:
        async with App(root, processors=False, scheduler=False, env={}) as client:
            return await call(client.api.tasks)

    return asyncio.run(main())


def make_app(root: Path, name: str, source: str) -> Path:
    (root / "stellar.toml").write_text(FAST_TOML)
    tasks = root / "modules" / "test" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / f"{name}.py").write_text(source)
    return root


def test_three_processes_process_10000_jobs_exactly_once(tmp_path: Path) -> None:
    root = make_app(tmp_path, "hit", HIT)
    hits = tmp_path / "hits.txt"
    env = {"HITS_FILE": str(hits)}
    queued = with_client(
        root, lambda t: t.enqueue_many("count.hit", ({"id": i} for i in range(10_000)))
    )
    assert queued == 10_000
    procs = [
        spawn(root, "run", env=env, log=tmp_path / "run.log"),
        spawn(root, "worker", env=env, log=tmp_path / "w1.log"),
        spawn(root, "worker", env=env, log=tmp_path / "w2.log"),
    ]
    try:
        wait_for(lambda: hits.exists() and hits.read_text().count("\n") >= 10_000, 180)
        time.sleep(0.3)  # anything extra would show up now
    finally:
        codes = [stop(p) for p in procs]
    assert codes == [0, 0, 0], (tmp_path / "run.log").read_text()[-2000:]
    lines = hits.read_text().split("\n")[:-1]
    ids = [int(line.split()[0]) for line in lines]
    assert len(ids) == 10_000, f"{len(ids) - len(set(ids))} ran twice"
    assert sorted(ids) == list(range(10_000))
    pids = {line.split()[1] for line in lines}
    assert len(pids) >= 2, "the work was not shared between processes"
    stats = with_client(root, lambda t: t.stats())
    assert stats["processed"] == 10_000
    assert stats.get("failed", 0) == 0
    assert with_client(root, lambda t: t.length("default")) == 0
    assert with_client(root, lambda t: t.workers()) == []


def read_beats(path: Path) -> list[tuple[str, int, float]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        kind, pid, at = line.split()
        rows.append((kind, int(pid), float(at)))
    return rows


def test_periodic_task_has_one_copy_and_heals_after_sigkill(tmp_path: Path) -> None:
    root = make_app(tmp_path, "beat", BEAT)
    beats = tmp_path / "beats.txt"
    env = {"BEATS_FILE": str(beats)}
    procs = [spawn(root, "run", env=env, log=tmp_path / f"p{i}.log") for i in range(3)]
    by_pid = {p.pid: p for p in procs}
    try:
        wait_for(lambda: sum(1 for r in read_beats(beats) if r[0] == "end") >= 4, 30)
        # kill the process that is running the task right now
        wait_for(lambda: read_beats(beats)[-1][0] == "start", 10)
        kind, victim, _ = read_beats(beats)[-1]
        by_pid[victim].send_signal(signal.SIGKILL)
        killed_at = time.time()
        by_pid[victim].wait(5)
        # stuck_worker_timeout (2 s) + one scheduler interval (0.1 s), plus poll slack
        wait_for(lambda: any(r[0] == "start" and r[2] > killed_at for r in read_beats(beats)), 6)
        restarted = min(r[2] for r in read_beats(beats) if r[0] == "start" and r[2] > killed_at)
        assert restarted - killed_at <= 2.0 + 0.1 + 0.6
        wait_for(lambda: sum(1 for r in read_beats(beats) if r[2] > killed_at) >= 4, 10)
    finally:
        codes = [stop(p) for p in procs if p.pid != victim]
    assert codes == [0, 0]
    # exactly one copy at any time: runs never overlap (the killed run never ended)
    rows = read_beats(beats)
    open_run: tuple[int, float] | None = None
    for kind, pid, at in rows:
        if kind == "start":
            if open_run is not None:
                assert open_run[0] == victim and at > killed_at, f"overlapping runs: {rows}"
            open_run = (pid, at)
        else:
            assert open_run is not None and open_run[0] == pid
            open_run = None
    failed = with_client(root, lambda t: t.failed())
    assert [f.exception for f in failed] == ["WorkerDied"]
    assert failed[0].job is not None and failed[0].job.task == "clock.beat"
    assert failed[0].worker.split(":")[1].split("+")[0] == str(victim)


def test_init_output_runs_with_stellar_run(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from stellar.cli.main import cli

    root = tmp_path / "fresh"
    result = CliRunner().invoke(cli, ["init", str(root)])
    assert result.exit_code == 0, result.output
    # the generated example says hello every five seconds; seeded at once on start
    log = tmp_path / "run.log"
    process = spawn(root, "run", log=log)
    try:
        wait_for(lambda: log.exists() and "example.hello ran with {}" in log.read_text(), 20)
    finally:
        code = stop(process)
    assert code == 0, log.read_text()[-2000:]
    assert "Traceback" not in log.read_text()
