# Observe jobs as they start, succeed and fail.
import asyncio
from pathlib import Path

from stellar import App, Task
from stellar.events import Event


def divide(api, params):
    return 1 / params["by"]


async def main(root: Path) -> None:
    finished = asyncio.Queue()

    def on_event(event: Event) -> None:  # called synchronously: keep it quick
        if event.kind == "job.failure":
            print(f"{event.job.task} failed: {type(event.error).__name__}: {event.error}")
        elif event.kind == "job.success":
            print(f"{event.job.task} {event.job.params} succeeded")
        if event.kind in ("job.success", "job.failure"):
            finished.put_nowait(event)

    task = Task(name="math.divide", description="Divide one by a number", run=divide)
    app = App(root, tasks=[task], scheduler=False, max_processors=1)
    unsubscribe = app.events.subscribe(on_event)
    async with app:
        await app.api.tasks.enqueue("math.divide", {"by": 4})
        await app.api.tasks.enqueue("math.divide", {"by": 0})
        for _ in range(2):
            await finished.get()
    unsubscribe()


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
