# Stop a periodic task (it stays stopped, across restarts) and start it again.
import asyncio
from pathlib import Path

from stellar import App


async def main(root: Path) -> None:
    async with App(root, processors=False, scheduler=False) as app:
        tasks = app.api.tasks
        print("seeded:", await tasks.enqueue_recurrent("sayHello"))  # its one copy, due now
        print("seeded again:", await tasks.enqueue_recurrent("sayHello"))  # never two
        print("copies removed:", await tasks.stop_recurrent("sayHello"))
        print("stopped:", await tasks.stopped_recurrent())
        await tasks.enqueue_recurrent("sayHello")  # clears the stop
        print("stopped:", await tasks.stopped_recurrent())


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
