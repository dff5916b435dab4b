"""RQ: ``SimpleWorker`` (runs each job in the worker process, no fork; one job at a time),
``with_scheduler=True`` for delayed jobs, every other setting at its default."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from redis import Redis
from rq import Queue, SimpleWorker


def main() -> None:
    args = common.parse()
    connection = Redis.from_url(args.url)
    queue = Queue("default", connection=connection)
    if args.role == "enqueue-one":
        with common.Timer() as t:
            for i in range(args.n):
                queue.enqueue(common.job, i)
        common.emit({"seconds": t.seconds})
    elif args.role in ("enqueue-bulk", "fill"):
        with common.Timer() as t:
            for start in range(0, args.n, args.batch):
                stop = min(start + args.batch, args.n)
                jobs = [Queue.prepare_data(common.job, (i,)) for i in range(start, stop)]
                queue.enqueue_many(jobs)
        common.emit({"seconds": t.seconds})
    elif args.role == "latency":
        common.latency_loop(lambda value: queue.enqueue(common.job, value), args)
    elif args.role == "delayed":
        due = []
        for _ in range(args.n):
            at = time.time() + args.ahead
            queue.enqueue_at(datetime.fromtimestamp(at, UTC), common.job, common.probe(at))
            due.append(at)
        common.emit({"due": due})
    elif args.role == "worker":
        common.start_recording(args.dir)
        worker = SimpleWorker([queue], connection=connection)
        common.wait_for_go(args.dir)
        worker.work(with_scheduler=True, logging_level="WARNING")


if __name__ == "__main__":
    main()
