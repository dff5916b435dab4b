"""How fast the dashboard answers with a big backlog.

Fills a fresh SQLite application with 100,000 queued, 10,000 delayed and 10,000 failed
jobs (plus workers and locks), then times every page and API endpoint *server side*:
requests go through ``httpx.ASGITransport`` to the Starlette app in this process, so
the figures are the dashboard's own work (no network, no browser). Each endpoint is
asked ``--runs`` times; the report gives the median, the 95th percentile and the worst
wall-clock time, and the median CPU time of this process (robust when other processes
compete for the CPUs). An endpoint is within budget when both medians are.

    .venv/bin/python bench/dashboard.py            # exit 1 if an endpoint is over budget
    .venv/bin/python bench/dashboard.py --bulk     # also time "retry all" of 10,000 jobs
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from stellar import App, Task
from stellar.codec import encode_failure, encode_job
from stellar.web import create_app

TOKEN = "bench"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def noop(api: Any, params: Any) -> None:
    return None


TASKS = [
    Task(name="bench.job", description="A job of the benchmark", run=noop),
    Task(name="bench.other", description="Another job", run=noop, queue="other"),
    Task(name="bench.tick", description="Periodic", run=noop, queue="other", frequency=60),
]


async def fill(app: App, queued: int, delayed: int, failed: int) -> dict[str, float]:
    tasks, backend = app.api.tasks, app.backend
    assert backend is not None
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    batch = 10_000
    for first in range(0, queued, batch):
        params = [{"n": n, "to": f"user{n}@example.com"} for n in range(first, first + batch)]
        await tasks.enqueue_many("bench.job", params[: queued - first])
    await tasks.enqueue_many("bench.other", [{"n": n} for n in range(500)])
    seconds["queued"] = time.perf_counter() - started

    started = time.perf_counter()
    at = time.time() + 3600
    for n in range(delayed):  # one job per second, as a steady stream of enqueue_in makes
        await backend.push_delayed(encode_job("bench.job", "default", [{"later": n}]), at + n)
    seconds["delayed"] = time.perf_counter() - started

    started = time.perf_counter()
    trace = [f'File "modules/bench/tasks/job.py", line {n}, in run' for n in range(12)]
    for n in range(failed):
        record = encode_failure(
            worker="bench:1+1", queue="default",
            payload=encode_job("bench.job", "default", [{"n": n}]),
            exception="KeyError" if n % 10 == 0 else "ValueError",
            error=f"bench failure {n}", backtrace=trace, failed_at=time.time(),
        )  # fmt: skip
        await backend.finish("bench:1+1", "default", failure=record)
    seconds["failed"] = time.perf_counter() - started

    now = time.time()
    for n in range(20):
        await backend.register_worker(f"bench:{n}+1", "default", now)
        if n < 10:
            await backend.claim(["default"], f"bench:{n}+1", "default", now)
    for n in range(500):
        await backend.acquire_lock(f'lock:bench.job:default:[{{"n":{n}}}]', str(now + 600), 600)
    await tasks.enqueue_recurrent("bench.tick")
    return seconds


def endpoints(last_delayed_page: int) -> list[tuple[str, str]]:
    return [
        ("page", "/"),
        ("page", "/queues/default"),
        ("page", "/queues/default?page=1998"),  # the last page: the deepest offset
        ("page", "/delayed"),
        ("page", f"/delayed?page={last_delayed_page}"),
        ("page", "/failed"),
        ("page", "/failed?page=500"),
        ("page", "/failed?exception=KeyError"),
        ("page", "/failed?q=no+such+text"),  # a filter that matches nothing: longest scan
        ("page", "/workers"),
        ("page", "/locks"),
        ("page", "/periodic"),
        ("page", "/tasks"),
        ("api", "/api/overview"),
        ("api", "/api/queues"),
        ("api", "/api/queues/default?page=1000&per_page=50"),
        ("api", "/api/delayed"),
        ("api", "/api/failed"),
        ("api", "/api/failed?task=bench.job&per_page=50"),
        ("api", "/api/workers"),
        ("api", "/api/locks?page=10"),
        ("api", "/api/periodic"),
        ("api", "/api/tasks"),
        ("api", "/metrics"),
    ]


async def time_get(
    client: httpx.AsyncClient, path: str, runs: int
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of each request (CPU time counts every thread of
    this process, the SQLite one included, and nothing of the other processes)."""
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = await client.get(path)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:200]}")
    return wall, cpu


def row(
    kind: str, what: str, wall: list[float], cpu: list[float], budget: float
) -> tuple[str, bool]:
    ordered = sorted(wall)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    median = statistics.median(ordered)
    ok = median < budget and statistics.median(cpu) < budget
    line = (
        f"{kind:<6} {what:<46} {median:>8.1f} {p95:>8.1f} {ordered[-1]:>8.1f} "
        f"{statistics.median(cpu):>8.1f}  {'ok' if ok else 'OVER'}"
    )
    return line, ok


async def time_actions(client: httpx.AsyncClient, app: App) -> list[tuple[str, float]]:
    results = []
    tasks = app.api.tasks
    job = (await client.get("/api/queues/default?page=1000")).json()["items"][0]
    started = time.perf_counter()
    r = await client.post(
        "/api/queues/delete", json={"queue": "default", "payload": job["payload"]}, headers=AUTH
    )
    results.append(
        ("POST /api/queues/delete (a job deep in the queue)", time.perf_counter() - started)
    )
    assert r.status_code == 200, r.text
    group = (await client.get("/api/delayed?page=400")).json()["items"][0]
    started = time.perf_counter()
    r = await client.post(
        "/api/delayed/delete", json={"payload": group["jobs"][0]["payload"]}, headers=AUTH
    )
    results.append(("POST /api/delayed/delete", time.perf_counter() - started))
    assert r.status_code == 200, r.text
    for page, label in ((1, "newest"), (400, "older")):
        item = (await client.get(f"/api/failed?page={page}")).json()["items"][0]
        started = time.perf_counter()
        r = await client.post(
            "/api/failed/retry", json={"id": item["id"], "index": item["index"]}, headers=AUTH
        )
        results.append((f"POST /api/failed/retry ({label} record)", time.perf_counter() - started))
        assert r.status_code == 200, r.text
    started = time.perf_counter()
    r = await client.post("/api/failed/retry", json={"id": item["id"], "index": 0}, headers=AUTH)
    results.append(("POST /api/failed/retry (gone: scans all)", time.perf_counter() - started))
    assert r.status_code == 404
    assert await tasks.failed_count() > 0
    return [(what, seconds * 1000) for what, seconds in results]


async def main(args: argparse.Namespace) -> int:
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="stellar-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        return await bench(root, args)
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)


async def bench(root: Path, args: argparse.Namespace) -> int:
    database = root / "tasks.db"
    if database.exists():
        database.unlink()
    app = App(root, tasks=TASKS, env={}, backend=f"sqlite:///{database}",
              processors=False, scheduler=False)  # fmt: skip
    async with app:
        print(f"filling {database} ...", flush=True)
        took = await fill(app, args.queued, args.delayed, args.failed)
        print("  " + ", ".join(f"{k} in {v:.1f} s" for k, v in took.items()))
        web = create_app(app, token=TOKEN, sample_interval=0)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            pages = (await client.get("/api/delayed")).json()["pages"]
            await time_get(client, "/", 2)  # templates compiled, caches warm
            print(
                f"\n{args.queued:,} queued, {args.delayed:,} delayed, {args.failed:,} failed; "
                f"{args.runs} runs each; milliseconds; budget {args.budget:.0f} ms\n"
            )
            print(f"{'':<6} {'endpoint':<46} {'median':>8} {'p95':>8} {'max':>8} {'cpu':>8}")
            all_ok = True
            for kind, path in endpoints(pages):
                wall, cpu = await time_get(client, path, args.runs)
                line, ok = row(kind, path, wall, cpu, args.budget)
                all_ok &= ok
                print(line, flush=True)
            print("\nactions (one run each):")
            for what, ms in await time_actions(client, app):
                print(f"       {what:<46} {ms:>8.1f}")
            if args.bulk:
                total = await app.api.tasks.failed_count()
                started = time.perf_counter()
                r = await client.post("/api/failed/retry-all", json={}, headers=AUTH)
                seconds = time.perf_counter() - started
                print(f"       POST /api/failed/retry-all ({total:,} jobs)  {seconds * 1000:>17.0f}"
                      f"  ({r.json()['done']:,} retried)")  # fmt: skip
    if args.dir:
        print(f"\nthe database is in {root}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir", help="Where to create (and keep) the database; default: a temporary folder."
    )
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--delayed", type=int, default=10_000)
    parser.add_argument("--failed", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--budget", type=float, default=300.0, help="Milliseconds.")
    parser.add_argument("--bulk", action="store_true", help="Also time retry-all.")
    sys.exit(asyncio.run(main(parser.parse_args())))
