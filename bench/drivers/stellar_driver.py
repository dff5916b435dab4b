"""This project, on Redis or SQLite (the URL says which). Concurrency: a fixed pool of
``--concurrency`` task processors (``min_processors = max_processors``), the scheduler
in the worker process, every other setting at its default."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

from stellar import App, Task


async def noop(api: Any, params: Any) -> None:
    common.job(params.get("v") if isinstance(params, dict) else None)


TASK = Task(name="bench.noop", description="no-op", run=noop)


def app(args: Any, **options: Any) -> App:
    root = tempfile.mkdtemp(prefix="stellar-bench-")
    return App(root, tasks=[TASK], backend=args.url, env={}, **options)


async def client(args: Any) -> None:
    async with app(args, processors=False, scheduler=False) as a:
        tasks = a.api.tasks
        if args.role == "enqueue-one":
            with common.Timer() as t:
                for i in range(args.n):
                    await tasks.enqueue("bench.noop", {"v": i})
            common.emit({"seconds": t.seconds})
        elif args.role in ("enqueue-bulk", "fill"):
            with common.Timer() as t:
                for start in range(0, args.n, args.batch):
                    stop = min(start + args.batch, args.n)
                    await tasks.enqueue_many("bench.noop", [{"v": i} for i in range(start, stop)])
            common.emit({"seconds": t.seconds})
        elif args.role == "latency":

            async def probe(value: str) -> None:
                await tasks.enqueue("bench.noop", {"v": value})

            await common.latency_loop_async(probe, args)
        elif args.role == "delayed":
            due = []
            for _ in range(args.n):
                at = time.time() + args.ahead
                await tasks.enqueue_at(at, "bench.noop", {"v": common.probe(at)})
                due.append(at)
            common.emit({"due": due})


async def worker(args: Any) -> None:
    common.start_recording(args.dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    common.on_sigterm(lambda: loop.call_soon_threadsafe(stop.set))
    a = app(args, min_processors=args.concurrency, max_processors=args.concurrency)
    async with app(args, processors=False, scheduler=False) as warm:
        await warm.api.tasks.length("default")  # imports, connection, scripts: warmed up
    await asyncio.to_thread(common.wait_for_go, args.dir)
    async with a:
        await stop.wait()


def main() -> None:
    args = common.parse()
    asyncio.run(worker(args) if args.role == "worker" else client(args))


if __name__ == "__main__":
    main()
