"""The management API of ``api.tasks``, one section per topic of docs/management.md.

Run it (it builds a throwaway application on SQLite and prints what it does)::

    python docs/examples/management.py

The sections between ``--8<-- [start:x]`` and ``--8<-- [end:x]`` are the code blocks of
docs/management.md; a test checks that they are the same text and runs this file.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stellar import App, FailedJobNotFound, NotPeriodic, Task, WorkerNotFound
from stellar.api import FailedFilter, failed_id

release: asyncio.Event  # lets the slow task finish (made by main, on its event loop)


async def send(api: Any, params: Any) -> None:
    api.log.info("mail to %s", params["to"])


async def charge(api: Any, params: Any) -> None:
    if params["amount"] < 0:
        raise ValueError(f"cannot charge {params['amount']}")


async def slow(api: Any, params: Any) -> None:
    await release.wait()


async def nightly(api: Any, params: Any) -> None:
    api.log.info("nightly report")


TASKS = [
    Task(name="email.send", description="Send a mail", run=send),
    Task(name="billing.charge", description="Charge a card", run=charge, queue="work"),
    Task(name="reports.slow", description="A long report", run=slow, queue="work"),
    Task(
        name="reports.nightly",
        description="Every day",
        run=nightly,
        frequency=86400,
        queue="reports",
    ),
]


async def wait_for(check: Any) -> None:
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the example's workers did not get there")


async def queues(app: App) -> None:
    # --8<-- [start:queues]
    tasks = app.api.tasks
    await tasks.enqueue("email.send", {"to": "ann@example.com"})
    await tasks.enqueue("email.send", {"to": "bob@example.com"})
    await tasks.enqueue("email.send", {"to": "ann@example.com"})

    print(await tasks.queues())  # ['default', ...]
    print(await tasks.length("default"))  # 3
    for job in await tasks.queued("default", 0, 9):  # the first ten, head first
        print(job.task, job.params)

    # delete(queue, task, params, count): params must be exactly those enqueued;
    # count 0 removes every match, 1 the first one, -1 the last one
    assert await tasks.delete("default", "email.send", {"to": "ann@example.com"}, 1) == 1
    assert await tasks.delete("default", "email.send", {"to": "bob@example.com"}) == 1

    assert await tasks.delete_queue("default") == 1  # the queue and its jobs
    # --8<-- [end:queues]


async def delayed(app: App) -> None:
    # --8<-- [start:delayed]
    tasks = app.api.tasks
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    await tasks.enqueue_at(tomorrow, "email.send", {"to": "ann@example.com"})
    await tasks.enqueue_in(timedelta(hours=2), "email.send", {"to": "bob@example.com"})
    await tasks.enqueue_in(7200, "email.send", {"to": "cid@example.com"})  # seconds

    times = await tasks.timestamps()  # whole seconds that hold delayed jobs
    print(await tasks.scheduled_at("default", "email.send", {"to": "ann@example.com"}))
    print(await tasks.delayed_at(times[0]))  # the jobs due at that second
    for when, jobs in (await tasks.all_delayed()).items():  # a listing: removes nothing
        print(when.isoformat(), [job.params["to"] for job in jobs])

    removed_from = await tasks.delete_delayed("default", "email.send", {"to": "ann@example.com"})
    assert len(removed_from) == 1
    assert await tasks.delete_delayed_at(times[0]) == 2  # both jobs due in two hours
    assert await tasks.delete_all_delayed() == 0  # nothing left
    # --8<-- [end:delayed]


async def recurrent(app: App) -> None:
    # --8<-- [start:recurrent]
    tasks = app.api.tasks
    await tasks.stop_recurrent("reports.nightly")  # removes its queued and delayed copies
    print(await tasks.stopped_recurrent())  # {'reports.nightly'}: kept across restarts
    assert await tasks.enqueue_recurrent("reports.nightly") is True  # clears the stop, seeds one
    assert await tasks.enqueue_recurrent("reports.nightly") is False  # one copy exists already

    try:
        await tasks.stop_recurrent("email.send")
    except NotPeriodic as exc:
        print(exc)  # task 'email.send' has no frequency: it is not a periodic task
    # --8<-- [end:recurrent]


async def stats_and_locks(app: App) -> None:
    # --8<-- [start:stats]
    tasks = app.api.tasks
    print(await tasks.stats())  # {'processed': 12, 'failed': 2, 'processed:host:42+1': 7, ...}
    for name, expires in (await tasks.locks()).items():  # plugin locks and when they expire
        print(name, expires.isoformat())
    assert await tasks.delete_lock("lock:email.send:default:[{}]") is False  # no such lock
    # --8<-- [end:stats]


async def workers(app: App) -> None:
    await app.api.tasks.enqueue("reports.slow")
    await wait_for(lambda: _busy(app))
    # --8<-- [start:workers]
    tasks = app.api.tasks
    for worker in await tasks.workers():
        doing = worker.working_on
        print(worker.name, worker.queues, doing.job.task if doing and doing.job else "idle")
    details = await tasks.details()  # queues with lengths, workers, stats, leader
    print([(q.name, q.length) for q in details.queues], details.leader, details.failed)

    busy = next(w for w in await tasks.workers() if w.working_on is not None)
    assert await tasks.working_on(busy.name, busy.queues) == busy.working_on
    print(await tasks.all_working_on())  # {name: WorkingOn or None (idle)}

    # workers silent for longer than an hour (dead hosts): their jobs go to the failed list
    print(await tasks.clean_old_workers(timedelta(hours=1)))  # {} : every worker pings
    try:
        await tasks.force_clean_worker("gone-host:4242+1")  # for a worker known to be dead
    except WorkerNotFound as exc:
        print(exc)
    # --8<-- [end:workers]
    release.set()


async def _busy(app: App) -> bool:
    return any(w.working_on is not None for w in await app.api.tasks.workers())


async def failed(app: App) -> None:
    tasks = app.api.tasks
    for amount in (-1, -2, -3, -4):
        await tasks.enqueue("billing.charge", {"amount": amount})
    await wait_for(lambda: _failed(app, 4))
    # --8<-- [start:failed]
    tasks = app.api.tasks
    print(await tasks.failed_count())  # 4
    first, second = await tasks.failed(0, 1)  # a page: indexes 0 to 1, oldest first
    print(first.job.task if first.job else None, first.exception, first.error, first.failed_at)

    assert await tasks.retry_and_remove_failed(first) is True  # back in its queue
    try:
        await tasks.retry_and_remove_failed(first)
    except FailedJobNotFound:
        print("already retried")
    assert await tasks.remove_failed(second) is True

    # one job by index, checked against its id (what `stellar failed show 0:<id>` does)
    index, job = await tasks.find_failed(0)
    assert await tasks.find_failed(index, failed_id(job)) == (index, job)

    # bulk: one pass over the list, a page at a time, one round trip per job
    result = await tasks.retry_all_failed(
        FailedFilter(task="billing.*", exception="ValueError"),
        progress=lambda done, total: print(f"{done}/{total}"),
    )
    print(result.done, result.kept, result.missing)
    # --8<-- [end:failed]
    await wait_for(lambda: _failed(app, 3))  # the three retried jobs failed again
    result = await tasks.remove_all_failed()
    assert result.done == 3


async def _failed(app: App, count: int) -> bool:
    return await app.api.tasks.failed_count() == count


async def main(root: Path, backend: str | None = None) -> None:
    """Run every section against a new application in ``root`` (on ``backend``)."""
    global release
    release = asyncio.Event()
    settings: dict[str, Any] = {"poll_interval": 0.02}
    if backend is not None:
        settings["backend"] = backend
    # workers on queue "work" only (the other sections' jobs stay put), no scheduler
    async with App(root, tasks=TASKS, queues=["work"], scheduler=False, env={}, **settings) as app:
        await queues(app)
        await delayed(app)
        await recurrent(app)
        await stats_and_locks(app)
        await workers(app)
        await failed(app)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(Path(folder), sys.argv[1] if len(sys.argv) > 1 else None))
