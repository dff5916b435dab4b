# Enqueue now, in many, at a time, after a delay; then look at the queues.
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stellar import App


async def main(root: Path) -> None:
    async with App(root, processors=False, scheduler=False) as app:  # a client: runs nothing
        tasks = app.api.tasks
        await tasks.enqueue("email.sendResetPassword", {"to": "ada@example.com"})
        await tasks.enqueue(
            "email.sendNotification", {"to": "ada@example.com", "subject": "Hi"}, queue="urgent"
        )
        many = [{"to": f"user{n}@example.com"} for n in range(3)]
        print("queued:", await tasks.enqueue_many("email.sendResetPassword", many))

        new_year = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
        when = await tasks.enqueue_at(new_year, "reports.build", {"month": "2029-12"})
        print("report at:", when.isoformat())
        await tasks.enqueue_in(timedelta(hours=1), "email.sendNotification",
                               {"to": "ada@example.com", "subject": "Reminder"})  # fmt: skip

        for queue in await tasks.queues():
            print(f"{queue}: {await tasks.length(queue)} waiting")
        print("delayed:", sum(len(jobs) for jobs in (await tasks.all_delayed()).values()))


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
