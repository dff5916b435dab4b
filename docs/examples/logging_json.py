# JSON log lines that say which job wrote them.
import asyncio
import json
import logging
import sys
from pathlib import Path

from stellar import App
from stellar.integrations.logging import JobContextFilter, instrument


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                "task": record.stellar_task,  # added by JobContextFilter
                "queue": record.stellar_queue,
            }
        )


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(JobContextFilter())  # on the handler: it sees every record
    handler.setFormatter(JsonFormatter())
    task_log = logging.getLogger("stellar.task")  # what tasks write to through api.log
    task_log.addHandler(handler)
    task_log.setLevel(logging.INFO)


async def main(root: Path) -> None:
    configure_logging()
    async with App(root, scheduler=False) as app:
        instrument(app)
        app.api.log.info("before any job")
        await app.api.tasks.enqueue("reports.build", {"month": "2030-01"})
        while (await app.api.tasks.stats()).get("processed", 0) < 1:
            await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
