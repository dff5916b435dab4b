# A client that only enqueues (a web process, say) and a process that runs the jobs
# (what `stellar worker --queues mail,default --max 1` does), sharing one backend.
import asyncio
import logging
from pathlib import Path

from stellar import App
from stellar.events import Event


def show(event: Event) -> None:
    if event.kind == "job.success":
        print("ran", event.job.task)


async def main(root: Path) -> None:
    async with App(root, processors=False, scheduler=False) as web:
        tasks = web.api.tasks
        await tasks.enqueue("email.sendResetPassword", {"to": "ada@example.com"})
        await tasks.enqueue("email.sendNotification", {"to": "ada@example.com", "subject": "Hi"})

        # queues are polled in the order given: "mail" first, whatever the arrival order
        worker = App(root, queues=["mail", "default"], scheduler=False, max_processors=1)
        worker.events.subscribe(show)
        async with worker:
            while (await tasks.stats()).get("processed", 0) < 2:
                await asyncio.sleep(0.05)
        print("workers left registered:", len(await tasks.workers()))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    asyncio.run(main(Path(__file__).parent / "app"))
