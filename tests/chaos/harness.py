"""Chaos runs: real ``stellar`` processes on one backend, killed with SIGKILL (or the
backend stopped) at random moments, and an account of every job at the end.

The application has two tasks. ``chaos.work`` sleeps a few milliseconds and appends
``<id> <pid>`` to a file when it is done: an id written twice is a double execution.
``chaos.beat`` is periodic and appends ``start``/``end`` lines with pid and time, so the
test can check that it kept running and never ran as two copies at once; it has a queue
of its own (workers take queues in name order: ``beat`` before ``default``), or it would
wait behind the whole backlog, as any job does in a FIFO queue.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from stellar import App, Tasks
from tests.integration.procs import spawn, stop

T = TypeVar("T")

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

TASKS = """
import asyncio, os, time
from stellar import task


def append(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one write: a kill never leaves half a line
    finally:
        os.close(fd)


@task(name="chaos.work", description="sleeps a little, then records that it ran")
async def work(api, params):
    await asyncio.sleep(params["ms"] / 1000)
    append(os.environ["CHAOS_DONE"], f"{params['id']} {os.getpid()}\\n")


@task(name="chaos.beat", description="a periodic task that records each run", frequency=0.3,
      queue="beat")
async def beat(api, params):
    path = os.environ["CHAOS_BEATS"]
    append(path, f"start {os.getpid()} {time.time()}\\n")
    await asyncio.sleep(0.1)
    append(path, f"end {os.getpid()} {time.time()}\\n")
"""

CONFIG = """
[tasks]
backend = "{backend}"
poll_interval = 0.05
check_interval = 0.05
scheduler_interval = 0.1
ping_interval = 0.2
stuck_worker_timeout = {stuck}
leader_lock_timeout = 1
shutdown_timeout = 3
min_processors = 2
max_processors = 4
retry_stuck_jobs = {retry}
"""


@dataclass
class Kill:
    pid: int
    role: str
    at: float


@dataclass
class Chaos:
    """One chaos run: an application directory, its processes, and what happened."""

    root: Path
    backend: str
    retry_stuck_jobs: bool
    stuck_worker_timeout: float = 1.5
    jobs: int = 2000
    seed: int = field(default_factory=lambda: int(os.environ.get("CHAOS_SEED", time.time_ns())))
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    scheduler: subprocess.Popen[bytes] | None = None
    kills: list[Kill] = field(default_factory=list)
    outages: list[tuple[float, float]] = field(default_factory=list)
    started: float = 0.0
    logs: list[Path] = field(default_factory=list)
    gap_detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.root.mkdir(parents=True, exist_ok=True)
        self.done = self.root / "done.txt"
        self.beats = self.root / "beats.txt"
        (self.root / "stellar.toml").write_text(
            CONFIG.format(
                backend=self.backend, stuck=self.stuck_worker_timeout,
                retry="true" if self.retry_stuck_jobs else "false",
            )
        )  # fmt: skip
        tasks = self.root / "modules" / "chaos" / "tasks"
        tasks.mkdir(parents=True)
        (tasks / "chaos.py").write_text(TASKS)

    # ------------------------------------------------------------ processes
    @property
    def env(self) -> dict[str, str]:
        return {"CHAOS_DONE": str(self.done), "CHAOS_BEATS": str(self.beats),
                "STELLAR_LOG_LEVEL": "WARNING"}  # fmt: skip

    def _spawn(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.root / f"{role}-{len(self.logs)}.log"
        self.logs.append(log)
        return spawn(self.root, *args, env=self.env, log=log)

    def start(self, workers: int = 3) -> None:
        self.scheduler = self._spawn("scheduler", "run", "--min", "0", "--max", "0")
        self.workers = [self._spawn("worker", "worker") for _ in range(workers)]
        self.started = time.time()

    def kill_one(self, scheduler_share: float = 0.0) -> Kill:
        """SIGKILL one process at random (a worker, or the scheduler with probability
        ``scheduler_share``) and start a fresh one in its place."""
        if self.scheduler is not None and self.random.random() < scheduler_share:
            victim, role = self.scheduler, "scheduler"
        else:
            index = self.random.randrange(len(self.workers))
            victim, role = self.workers[index], "worker"
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        kill = Kill(victim.pid, role, time.time())
        self.kills.append(kill)
        if role == "scheduler":
            self.scheduler = self._spawn("scheduler", "run", "--min", "0", "--max", "0")
        else:
            self.workers[index] = self._spawn("worker", "worker")
        return kill

    def stop_all(self) -> list[int]:
        procs = [*self.workers, *([self.scheduler] if self.scheduler else [])]
        return [stop(p, timeout=20) for p in procs]

    def live_pids(self) -> set[int]:
        procs = [*self.workers, *([self.scheduler] if self.scheduler else [])]
        return {p.pid for p in procs if p.poll() is None}

    def log_tail(self, chars: int = 3000) -> str:
        text = ""
        for path in self.logs:
            if path.exists() and path.stat().st_size:
                text += f"--- {path.name}\n{path.read_text(errors='replace')[-1500:]}\n"
        return text[-chars:]

    # ----------------------------------------------------------- accounting
    def done_counts(self) -> collections.Counter[int]:
        counts: collections.Counter[int] = collections.Counter()
        if self.done.exists():
            for line in self.done.read_text().splitlines():
                counts[int(line.split()[0])] += 1
        return counts

    def beat_rows(self) -> list[tuple[str, int, float]]:
        if not self.beats.exists():
            return []
        rows = []
        for line in self.beats.read_text().splitlines():
            kind, pid, at = line.split()
            rows.append((kind, int(pid), float(at)))
        return rows

    def beat_report(self, until: float) -> tuple[list[str], float, int]:
        """Overlapping runs (problems), the longest gap between runs, and the run count.

        A run is [start, end]; a run whose process was killed has no end line and ends
        at the kill. Two runs overlap when one starts before the other one ended."""
        killed_at = {k.pid: k.at for k in self.kills}
        problems: list[str] = []
        open_runs: dict[int, float] = {}  # pid -> start of its run in progress
        starts: list[float] = []
        for kind, pid, at in sorted(self.beat_rows(), key=lambda r: r[2]):
            if kind == "start":
                for other, since in open_runs.items():
                    if killed_at.get(other, float("inf")) > at:
                        problems.append(f"run by {pid} at {at:.3f} overlaps the run by "
                                        f"{other} started at {since:.3f}")  # fmt: skip
                open_runs = {p: s for p, s in open_runs.items() if killed_at.get(p, 0) > at}
                open_runs[pid] = at
                starts.append(at)
            else:
                if pid not in open_runs:
                    problems.append(f"an end by {pid} at {at:.3f} without its start")
                open_runs.pop(pid, None)
        marks = [self.started, *[s for s in starts if s <= until], until]
        gaps = [(b - a, a, b) for a, b in zip(marks, marks[1:], strict=False)]
        gap, since, to = max(gaps, default=(0.0, 0.0, 0.0))
        self.gap_detail = {
            "from_s": round(since - self.started, 2), "to_s": round(to - self.started, 2),
            "kills_in_gap": [(k.role, round(k.at - self.started, 2)) for k in self.kills
                             if since - 3 <= k.at <= to],
        }  # fmt: skip
        return problems, gap, len(starts)

    def save(self, name: str, summary: dict[str, Any]) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"chaos-{name}.json").write_text(json.dumps(summary, indent=2) + "\n")


def client(root: Path, call: Callable[[Tasks], Awaitable[T]]) -> T:
    async def main() -> T:
        async with App(root, processors=False, scheduler=False, env={}) as app:
            return await call(app.api.tasks)

    return asyncio.run(main())


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, tail: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s\n{tail()}")
        time.sleep(0.1)
