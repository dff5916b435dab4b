"""The demo: start the application, enqueue a normal and a delayed task, run until Ctrl-C.

python examples/hello/main.py
"""

import asyncio
import logging
from pathlib import Path

from stellar import App

HERE = Path(__file__).parent


async def main() -> None:
    async with App(HERE) as app:
        tasks = app.api.tasks
        await tasks.enqueue("email.sendResetPassword", {"to": "ada@example.com"})
        when = await tasks.enqueue_in(
            2, "email.sendNotification", {"to": "ada@example.com", "subject": "Welcome"}
        )
        app.api.log.info("demo: notification delayed until %s; Ctrl-C to stop", when)
        await app.serve()  # until SIGINT/SIGTERM; then a graceful shutdown


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    asyncio.run(main())
