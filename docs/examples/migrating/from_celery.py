# Celery or RQ code, and what it becomes (the calls Celery would make are in comments).
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stellar import App, task


@task(name="accounts.sendWelcome", description="Send the welcome email")
async def send_welcome(api, params):  # Celery: @app.task def send_welcome(user_id)
    api.log.info("welcoming user %s", params["user"])


@task(
    name="accounts.purgeUnconfirmed",
    description="Purge accounts never confirmed",
    frequency=timedelta(hours=1),  # Celery beat: {"schedule": 3600.0}; no beat process
)
async def purge_unconfirmed(api, params):
    api.log.info("purging")


async def main(root: Path) -> None:
    tasks_here = [send_welcome, purge_unconfirmed]
    async with App(root, tasks=tasks_here, processors=False, scheduler=False) as app:
        tasks = app.api.tasks
        await tasks.enqueue("accounts.sendWelcome", {"user": 42})  # send_welcome.delay(42)
        await tasks.enqueue_in(60, "accounts.sendWelcome", {"user": 43})  # countdown=60
        new_year = datetime(2030, 1, 1, tzinfo=UTC)
        await tasks.enqueue_at(new_year, "accounts.sendWelcome", {"user": 44})  # eta=new_year
        print("waiting:", await tasks.length("default"))
        print("delayed:", len(await tasks.timestamps()))


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
