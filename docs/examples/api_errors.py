# Bad input gets a clear error, and nothing is written.
import asyncio
from datetime import datetime
from pathlib import Path

from stellar import App, DuplicateDelayedJob, InvalidParams, InvalidTime, StellarError, UnknownTask


async def main(root: Path) -> None:
    async with App(root, processors=False, scheduler=False) as app:
        tasks = app.api.tasks
        attempts = [
            tasks.enqueue("email.sendResetPasword", {"to": "ada@example.com"}),  # a typo
            tasks.enqueue("email.sendResetPassword", {"when": datetime.now()}),  # not JSON
            tasks.enqueue_at(datetime(2030, 1, 1), "reports.build"),  # no time zone
        ]
        for attempt in attempts:
            try:
                await attempt
            except (UnknownTask, InvalidParams, InvalidTime) as exc:
                print(f"{type(exc).__name__}: {exc}")

        await tasks.enqueue_at(1_900_000_000, "reports.build", {"month": "2030-03"})
        try:
            await tasks.enqueue_at(1_900_000_000, "reports.build", {"month": "2030-03"})
        except DuplicateDelayedJob:
            print("DuplicateDelayedJob: already delayed at that second")
        assert issubclass(DuplicateDelayedJob, StellarError)  # one root for every error


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
