"""Dramatiq: the Redis broker, one process running a ``Worker`` with ``--concurrency``
threads (dramatiq's default is 8), every other setting at its default."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import dramatiq
from dramatiq.brokers.redis import RedisBroker


def main() -> None:
    args = common.parse()
    broker = RedisBroker(url=args.url)
    dramatiq.set_broker(broker)
    noop = dramatiq.actor(common.job, actor_name="noop", queue_name="default", max_retries=0)
    if args.role == "enqueue-one":
        with common.Timer() as t:
            for i in range(args.n):
                noop.send(i)
        common.emit({"seconds": t.seconds})
    elif args.role in ("enqueue-bulk", "fill"):
        with common.Timer() as t:
            for start in range(0, args.n, args.batch):
                stop = min(start + args.batch, args.n)
                dramatiq.group(noop.message(i) for i in range(start, stop)).run()
        common.emit({"seconds": t.seconds})
    elif args.role == "latency":
        common.latency_loop(noop.send, args)
    elif args.role == "delayed":
        due = []
        for _ in range(args.n):
            at = time.time() + args.ahead
            noop.send_with_options(args=(common.probe(at),), delay=int(args.ahead * 1000))
            due.append(at)
        common.emit({"due": due})
    elif args.role == "worker":
        common.start_recording(args.dir)
        stop = threading.Event()
        common.on_sigterm(stop.set)
        worker = dramatiq.Worker(broker, worker_threads=args.concurrency)
        common.wait_for_go(args.dir)
        worker.start()
        stop.wait()
        worker.stop()


if __name__ == "__main__":
    main()
