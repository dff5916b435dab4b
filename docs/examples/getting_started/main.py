# main.py: start the application, enqueue a task now and one in a second.
import asyncio
from pathlib import Path

from stellar import App


async def main(root: Path = Path(".")) -> None:
    async with App(root) as app:  # loads stellar.toml and modules/, starts the runtime
        tasks = app.api.tasks
        await tasks.enqueue("email.sendResetPassword", {"to": "ada@example.com"})
        await tasks.enqueue_in(1, "email.sendResetPassword", {"to": "grace@example.com"})
        while (await tasks.stats()).get("processed", 0) < 2:
            await asyncio.sleep(0.1)
    print("both sent; the application has stopped")


if __name__ == "__main__":
    asyncio.run(main())
