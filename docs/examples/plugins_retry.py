# Retry with a backoff strategy, and Noop: a flaky task succeeds on its third attempt; a
# best-effort task's failure is only logged.
import asyncio
import tempfile
from pathlib import Path

from stellar import Task
from stellar.plugins import Noop, Retry
from stellar.testing import FakeClock, drain, make_app

attempts = 0


async def charge(api, params):
    global attempts
    attempts += 1
    print(f"attempt {attempts} at +{clock.time() - start:.0f} s")
    if attempts < 3:
        raise ConnectionError("the payment service did not answer")


async def ping(api, params):
    raise RuntimeError("analytics are down")


clock = FakeClock(start=1_900_000_000)
start = clock.time()

tasks = [
    Task(
        name="payments.charge",
        description="Charge a card",
        run=charge,
        plugins=[Retry(retry_limit=5, backoff_strategy=[10, 60, 300])],
    ),
    Task(
        name="analytics.ping",
        description="Best effort",
        run=ping,
        plugins=[Noop(logger=lambda error: print("ignored:", error))],
    ),
]


async def main(root: Path) -> None:
    async with make_app(root, database=root / "plugins.db", clock=clock, tasks=tasks) as app:
        api = app.api.tasks
        await api.enqueue("payments.charge", {"order": 7})
        await api.enqueue("analytics.ping")
        await drain(app)
        print("retries waiting:", [t.timestamp() - start for t in await api.timestamps()])
        for wait in (10, 60):
            clock.advance(wait)
            await drain(app)
        stats = await api.stats()
        print("processed:", stats["processed"], "failed:", stats["failed"])
        print("failed list:", await api.failed_count())


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(Path(folder)))
