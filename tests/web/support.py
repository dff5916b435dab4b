"""What the dashboard tests share: an application, its tasks, and ways to fill it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from stellar import App, Task
from stellar.codec import encode_failure, encode_job
from tests.helpers import FAST

TOKEN = "test-token-0123456789"
USERNAME = "admin"
PASSWORD = "correct horse battery staple"
XSS = "<script>window.__xss = 1</script><img src=x onerror='window.__xss = 2'>"


async def send_email(api: Any, params: Any) -> None:
    await asyncio.sleep(0)


async def build_report(api: Any, params: Any) -> None:
    raise ValueError(f"cannot build report {params.get('id')}: {params.get('why', 'no data')}")


async def transcode(api: Any, params: Any) -> None:
    await asyncio.sleep(float(params.get("seconds", 3600)))


async def cleanup(api: Any, params: Any) -> None:
    await asyncio.sleep(0)


TASKS = [
    Task(name="email.send", description="Send one e-mail", run=send_email),
    Task(name="report.build", description="Build a report", run=build_report),
    Task(name="media.transcode", description="Transcode a video", run=transcode, queue="media"),
    Task(
        name="sessions.cleanup", description="Drop expired sessions", run=cleanup,
        queue="maintenance", frequency=300,
    ),
    Task(
        name="reports.nightly", description="Nightly statistics", run=cleanup,
        queue="maintenance", frequency=86400,
    ),
]  # fmt: skip


def make_app(root: Path, tasks: list[Task] | None = None, **options: Any) -> App:
    settings: dict[str, Any] = {
        "backend": f"sqlite:///{root}/tasks.db", **FAST, "processors": False, "scheduler": False,
    }  # fmt: skip
    settings.update(options)
    return App(root, tasks=TASKS if tasks is None else tasks, env={}, **settings)


async def add_failure(
    app: App,
    task: str = "report.build",
    params: Any = None,
    *,
    exception: str = "ValueError",
    error: str = "it broke",
    queue: str = "default",
) -> None:
    """File one failed job, as a worker would after ``task`` raised."""
    assert app.backend is not None
    record = encode_failure(
        worker="host:1+1", queue=queue, payload=encode_job(task, queue, [params or {}]),
        exception=exception, error=error,
        backtrace=[f'File "modules/{task.split(".")[0]}/tasks/{task.split(".")[-1]}.py", '
                   "line 12, in run"],
        failed_at=time.time(),
    )  # fmt: skip
    await app.backend.finish("host:1+1", queue, failure=record)


def png_ok(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
