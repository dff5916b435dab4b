# QueueLock and DelayQueueLock: at most one identical copy waiting, none while a delayed
# copy waits. Run with a fake clock and drain(), so the output is always the same.
import asyncio
import tempfile
from pathlib import Path

from stellar import Task
from stellar.plugins import DelayQueueLock, QueueLock
from stellar.testing import FakeClock, drain, make_app


async def refresh(api, params):
    print("refreshing", params["page"])


refresh_page = Task(
    name="cache.refresh",
    description="Rebuild one cached page",
    run=refresh,
    plugins=[QueueLock(lock_timeout=600), DelayQueueLock()],
)


async def main(root: Path) -> None:
    clock = FakeClock()
    app = make_app(root, database=root / "plugins.db", clock=clock, tasks=[refresh_page])
    async with app:
        tasks = app.api.tasks
        print("first:", await tasks.enqueue("cache.refresh", {"page": "home"}))
        print("again:", await tasks.enqueue("cache.refresh", {"page": "home"}))  # vetoed
        print("other page:", await tasks.enqueue("cache.refresh", {"page": "faq"}))
        print("locks:", sorted(await tasks.locks()))
        await drain(app)  # a worker takes each copy, which releases its lock
        print("after the run:", await tasks.enqueue("cache.refresh", {"page": "home"}))
        await drain(app)

        await tasks.enqueue_in(60, "cache.refresh", {"page": "home"})  # no plugins run here
        print("while delayed:", await tasks.enqueue("cache.refresh", {"page": "home"}))
        clock.advance(60)
        await drain(app)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(Path(folder)))
