"""arq: one worker process with ``max_jobs = --concurrency`` (arq's default is 10), every
other setting at its default (it polls the queue every ``poll_delay`` = 0.5 s when idle).
arq has no batch enqueue: the bulk workload runs ``--batch`` ``enqueue_job`` calls
concurrently (``asyncio.gather``), which redis-py pipelines over its pool."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker, func


async def noop(ctx: Any, value: Any) -> None:
    common.job(value)


async def client(args: Any) -> None:
    redis = await create_pool(RedisSettings.from_dsn(args.url))
    if args.role == "enqueue-one":
        with common.Timer() as t:
            for i in range(args.n):
                await redis.enqueue_job("noop", i)
        common.emit({"seconds": t.seconds})
    elif args.role in ("enqueue-bulk", "fill"):
        with common.Timer() as t:
            for start in range(0, args.n, args.batch):
                stop = min(start + args.batch, args.n)
                await asyncio.gather(*(redis.enqueue_job("noop", i) for i in range(start, stop)))
        common.emit({"seconds": t.seconds})
    elif args.role == "latency":
        await common.latency_loop_async(lambda value: redis.enqueue_job("noop", value), args)
    elif args.role == "delayed":
        due = []
        for _ in range(args.n):
            at = time.time() + args.ahead
            await redis.enqueue_job("noop", common.probe(at), _defer_by=args.ahead)
            due.append(at)
        common.emit({"due": due})
    await redis.aclose()


def main() -> None:
    args = common.parse()
    if args.role != "worker":
        asyncio.run(client(args))
        return
    common.start_recording(args.dir)
    worker = Worker(
        functions=[func(noop, name="noop")],
        redis_settings=RedisSettings.from_dsn(args.url),
        max_jobs=args.concurrency,
    )
    common.wait_for_go(args.dir)
    worker.run()


if __name__ == "__main__":
    main()
