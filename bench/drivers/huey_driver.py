"""Huey: ``RedisHuey``, one consumer process with ``--concurrency`` thread workers, every
other setting at its default (blocking dequeue, scheduler ticking every second)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from huey import RedisHuey


def main() -> None:
    args = common.parse()
    huey = RedisHuey("bench", url=args.url)
    noop = huey.task(name="noop")(common.job)
    if args.role == "enqueue-one":
        with common.Timer() as t:
            for i in range(args.n):
                noop(i)
        common.emit({"seconds": t.seconds})
    elif args.role in ("enqueue-bulk", "fill"):
        with common.Timer() as t:
            for start in range(0, args.n, args.batch):
                noop.map(range(start, min(start + args.batch, args.n)))
        common.emit({"seconds": t.seconds})
    elif args.role == "latency":
        common.latency_loop(noop, args)
    elif args.role == "delayed":
        due = []
        for _ in range(args.n):
            at = time.time() + args.ahead
            noop.schedule(args=(common.probe(at),), delay=args.ahead)
            due.append(at)
        common.emit({"due": due})
    elif args.role == "worker":
        common.start_recording(args.dir)
        consumer = huey.create_consumer(workers=args.concurrency, worker_type="thread")
        common.wait_for_go(args.dir)
        consumer.run()


if __name__ == "__main__":
    main()
