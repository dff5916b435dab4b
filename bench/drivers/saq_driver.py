"""SAQ: one worker process with ``concurrency = --concurrency`` (SAQ's default is 10),
every other setting at its default. SAQ schedules in whole seconds (``scheduled`` is an
int): a delayed job gets ``ceil(due)`` so that it is not asked to run early. SAQ has no
batch enqueue: the bulk workload runs ``--batch`` ``enqueue`` calls concurrently."""

from __future__ import annotations

import asyncio
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from saq import Queue, Worker


async def noop(ctx: Any, *, value: Any = None) -> None:
    common.job(value)


async def client(args: Any) -> None:
    queue = Queue.from_url(args.url)
    if args.role == "enqueue-one":
        with common.Timer() as t:
            for i in range(args.n):
                await queue.enqueue("noop", value=i)
        common.emit({"seconds": t.seconds})
    elif args.role in ("enqueue-bulk", "fill"):
        with common.Timer() as t:
            for start in range(0, args.n, args.batch):
                stop = min(start + args.batch, args.n)
                await asyncio.gather(*(queue.enqueue("noop", value=i) for i in range(start, stop)))
        common.emit({"seconds": t.seconds})
    elif args.role == "latency":
        await common.latency_loop_async(lambda value: queue.enqueue("noop", value=value), args)
    elif args.role == "delayed":
        due = []
        for _ in range(args.n):
            at = time.time() + args.ahead
            await queue.enqueue("noop", value=common.probe(at), scheduled=math.ceil(at))
            due.append(at)
        common.emit({"due": due})
    await queue.disconnect()


async def worker(args: Any) -> None:
    common.start_recording(args.dir)
    queue = Queue.from_url(args.url)
    w = Worker(queue, functions=[noop], concurrency=args.concurrency)
    await asyncio.to_thread(common.wait_for_go, args.dir)
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(w.start())
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await w.stop()


def main() -> None:
    args = common.parse()
    asyncio.run(worker(args) if args.role == "worker" else client(args))


if __name__ == "__main__":
    main()
