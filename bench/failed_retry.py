"""Benchmark: retrying every failed job, on SQLite and on Redis.

For each backend it fills the failed list with ``--jobs`` records (10,000 by default), then
times ``api.tasks.retry_all_failed()`` (the API) and ``stellar failed retry --all`` (the
command, a new process, start-up included), checks that every job is back in its queue and
the failed list is empty, and prints the rates in jobs per second.

The Redis run starts its own redis-server on a free port in a temporary directory and stops
it afterwards; it never touches a server it did not start::

    .venv/bin/python bench/failed_retry.py                  # both backends, 10,000 jobs
    .venv/bin/python bench/failed_retry.py --backend sqlite --jobs 50000
    .venv/bin/python bench/failed_retry.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from stellar import App
from stellar.codec import encode_failure, encode_job

FILL_BATCH = 200  # records settled concurrently while filling (Redis pipelines them)


@dataclass(frozen=True)
class Figures:
    backend: str
    jobs: int
    api_seconds: float
    api_rate: float
    cli_seconds: float
    cli_rate: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A throwaway redis-server on a free port; yields its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not installed: run with --backend sqlite")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="stellar-bench-redis-") as folder:
        process = subprocess.Popen(
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                        s.sendall(b"PING\r\n")
                        if s.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"redis-server did not start on port {port}") from None
                    time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


def write_app(root: Path, backend: str) -> None:
    (root / "modules/bench/tasks").mkdir(parents=True, exist_ok=True)
    (root / "stellar.toml").write_text(f'[tasks]\nbackend = "{backend}"\n')
    (root / "modules/bench/tasks/work.py").write_text(
        "from stellar import task\n\n\n"
        '@task(name="bench.work", description="benchmark job")\n'
        "async def work(api, params):\n    pass\n"
    )


def record(n: int, now: float) -> str:
    return encode_failure(
        worker="bench-host:1+1", queue="default",
        payload=encode_job("bench.work", "default", [{"n": n, "text": "some params"}]),
        exception="ValueError", error=f"failure {n}", backtrace=["  at bench (work.py:5)"],
        failed_at=now,
    )  # fmt: skip


async def fill(root: Path, jobs: int) -> None:
    async with App(root, processors=False, scheduler=False, env={}) as app:
        backend = app.backend
        assert backend is not None
        now = time.time()
        for start in range(0, jobs, FILL_BATCH):
            await asyncio.gather(
                *(
                    backend.finish("bench-host:1+1", "*", failure=record(n, now))
                    for n in range(start, min(start + FILL_BATCH, jobs))
                )
            )
        assert await app.api.tasks.failed_count() == jobs


async def retry_by_api(root: Path) -> float:
    async with App(root, processors=False, scheduler=False, env={}) as app:
        started = time.perf_counter()
        result = await app.api.tasks.retry_all_failed()
        elapsed = time.perf_counter() - started
        assert result.done == result.examined, result
    return elapsed


def retry_by_cli(root: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLAR_")}
    command = [sys.executable, "-m", "stellar.cli", "--app", str(root), "failed", "retry",
               "--all", "--json"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"stellar failed retry --all failed: {done.stderr.strip()}")
    return elapsed


async def check(root: Path, queued: int) -> None:
    async with App(root, processors=False, scheduler=False, env={}) as app:
        tasks = app.api.tasks
        assert await tasks.failed_count() == 0
        assert await tasks.length("default") == queued, await tasks.length("default")
        await tasks.delete_queue("default")


def bench(name: str, url: str, jobs: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix=f"stellar-bench-{name}-") as folder:
        root = Path(folder)
        write_app(root, url)
        asyncio.run(fill(root, jobs))
        api_seconds = asyncio.run(retry_by_api(root))
        asyncio.run(check(root, jobs))
        asyncio.run(fill(root, jobs))
        cli_seconds = retry_by_cli(root)
        asyncio.run(check(root, jobs))
    return Figures(
        backend=name, jobs=jobs,
        api_seconds=round(api_seconds, 3), api_rate=round(jobs / api_seconds),
        cli_seconds=round(cli_seconds, 3), cli_rate=round(jobs / cli_seconds),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="failed jobs to retry")
    parser.add_argument("--backend", choices=["sqlite", "redis", "all"], default="all")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results: list[Figures] = []
    if args.backend in ("sqlite", "all"):
        with tempfile.TemporaryDirectory(prefix="stellar-bench-db-") as folder:
            results.append(bench("sqlite", f"sqlite:///{folder}/tasks.db", args.jobs))
    if args.backend in ("redis", "all"):
        with private_redis() as url:
            results.append(bench("redis", url, args.jobs))
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
        return
    print(f"retrying {args.jobs} failed jobs (Python {sys.version.split()[0]})")
    for r in results:
        print(
            f"  {r.backend:<7} api: {r.api_seconds:7.3f} s  {r.api_rate:>7} jobs/s   "
            f"cli (new process): {r.cli_seconds:7.3f} s  {r.cli_rate:>7} jobs/s"
        )


if __name__ == "__main__":
    main()
