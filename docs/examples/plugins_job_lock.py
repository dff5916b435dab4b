# JobLock: two identical jobs never run at the same time. With two processors free, the
# second copy finds the lock taken, is re-enqueued as a delayed job and runs afterwards.
import asyncio
import tempfile
from pathlib import Path

from stellar import App, Task
from stellar.events import Event
from stellar.plugins import JobLock


async def sync_account(api, params):
    print("syncing", params["account"])
    await asyncio.sleep(0.3)
    print("synced", params["account"])


task = Task(
    name="accounts.sync",
    description="Synchronise one account with the bank",
    run=sync_account,
    plugins=[JobLock(lock_timeout=120, enqueue_timeout=0.5)],
)


async def main(root: Path) -> None:
    done = asyncio.Event()
    runs = 0

    def on_event(event: Event) -> None:
        nonlocal runs
        if event.kind == "job.reenqueue" and event.job is not None:
            print("already running: this copy waits", event.detail["lock"])
        elif event.kind == "job.success":
            runs += 1
            if runs == 2:
                done.set()

    app = App(root, tasks=[task], backend=f"sqlite:///{root}/plugins.db", min_processors=2,
              check_interval=0.05, poll_interval=0.05, scheduler_interval=0.1)  # fmt: skip
    app.events.subscribe(on_event)
    async with app:
        while len(await app.api.tasks.workers()) < 2:  # both processors up: the copies meet
            await asyncio.sleep(0.05)
        await app.api.tasks.enqueue("accounts.sync", {"account": 42})
        await app.api.tasks.enqueue("accounts.sync", {"account": 42})
        await asyncio.wait_for(done.wait(), 10)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(Path(folder)))
