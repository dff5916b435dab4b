# One snapshot of everything: queues, workers, stats, leader, delayed and failed counts.
import asyncio
from pathlib import Path

from stellar import App


async def main(root: Path) -> None:
    async with App(root, processors=False, scheduler=False) as app:
        tasks = app.api.tasks
        await tasks.enqueue("email.sendResetPassword", {"to": "ada@example.com"})
        await tasks.enqueue_in(60, "reports.build", {"month": "2030-01"})
        details = await tasks.details()
        print("queues:", {q.name: q.length for q in details.queues})
        print("workers:", len(details.workers), "| leader:", details.leader)
        print("delayed:", details.delayed, "| failed:", details.failed)


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
