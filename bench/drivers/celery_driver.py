"""Celery: the Redis transport, one worker process with the ``threads`` pool and
``--concurrency`` threads, without mingle and gossip (start-up chatter between workers),
no result backend, every other setting at its default."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from celery import Celery, group


def main() -> None:
    args = common.parse()
    app = Celery("bench", broker=args.url)
    noop = app.task(name="noop")(common.job)
    if args.role == "enqueue-one":
        with common.Timer() as t:
            for i in range(args.n):
                noop.delay(i)
        common.emit({"seconds": t.seconds})
    elif args.role in ("enqueue-bulk", "fill"):
        with common.Timer() as t:
            for start in range(0, args.n, args.batch):
                stop = min(start + args.batch, args.n)
                group(noop.s(i) for i in range(start, stop)).apply_async()
        common.emit({"seconds": t.seconds})
    elif args.role == "latency":
        common.latency_loop(noop.delay, args)
    elif args.role == "delayed":
        due = []
        for _ in range(args.n):
            at = time.time() + args.ahead
            noop.apply_async(args=(common.probe(at),), countdown=args.ahead)
            due.append(at)
        common.emit({"due": due})
    elif args.role == "worker":
        common.start_recording(args.dir)
        common.wait_for_go(args.dir)
        app.worker_main(
            [
                "worker", "--pool", "threads", "--concurrency", str(args.concurrency),
                "--loglevel", "WARNING", "--without-mingle", "--without-gossip",
            ]
        )  # fmt: skip


if __name__ == "__main__":
    main()
