# Find, list and remove delayed jobs.
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from stellar import App


async def main(root: Path) -> None:
    async with App(root, processors=False, scheduler=False) as app:
        tasks = app.api.tasks
        at = datetime(2030, 1, 1, 9, 0, 0, 250_000, tzinfo=UTC)
        await tasks.enqueue_at(at, "reports.build", {"month": "2029-11"})
        await tasks.enqueue_at(at, "reports.build", {"month": "2029-12"})
        await tasks.enqueue_in(3600, "email.sendResetPassword", {"to": "ada@example.com"})

        # Resque files delayed jobs by whole second, rounded up: never early
        found = await tasks.scheduled_at("reports", "reports.build", {"month": "2029-12"})
        print("filed under:", [t.isoformat() for t in found])
        print("at that second:", [job.params for job in await tasks.delayed_at(at)])

        removed = await tasks.delete_delayed("reports", "reports.build", {"month": "2029-11"})
        print("removed from:", [t.isoformat() for t in removed])
        print("removed at that second:", await tasks.delete_delayed_at(at))
        print("removed the rest:", await tasks.delete_all_delayed())
        print("left:", await tasks.timestamps())


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
