"""Tasks and records shared by the API tests."""

from __future__ import annotations

import time
from typing import Any

from stellar import Plugin, PluginContext, Task
from stellar.backends import Backend
from stellar.codec import encode_failure, encode_job


async def nothing(api: Any, params: Any) -> None:
    return None


class Gate(Plugin):
    """Vetoes enqueues while ``open`` is False; records what it saw."""

    def __init__(self) -> None:
        self.open = True
        self.before: list[str] = []
        self.after: list[str] = []

    async def before_enqueue(self, ctx: PluginContext) -> bool:
        self.before.append(ctx.job.payload)
        return self.open

    async def after_enqueue(self, ctx: PluginContext) -> None:
        self.after.append(ctx.job.payload)


GATE = Gate()

TASKS = [
    Task(name="t.echo", description="normal", run=nothing),
    Task(name="t.other", description="other queue", run=nothing, queue="other"),
    Task(name="t.tick", description="periodic", run=nothing, frequency=60),
    Task(name="t.tock", description="periodic", run=nothing, frequency=60, queue="slow"),
    Task(name="t.gated", description="with a plugin", run=nothing, plugins=[GATE]),
]


def failure_record(
    task: str = "t.echo",
    params: Any = None,
    *,
    queue: str = "default",
    exception: str = "ValueError",
    error: str = "boom",
    payload: str | None = None,
    worker: str = "host:1+1",
) -> str:
    """A failed-list record as a worker writes it."""
    if payload is None:
        payload = encode_job(task, queue, [{} if params is None else params])
    return encode_failure(
        worker=worker, queue=queue, payload=payload, exception=exception, error=error,
        backtrace=["  at somewhere"], failed_at=time.time(),
    )  # fmt: skip


async def add_failed(backend: Backend, *records: str) -> None:
    """Append records to the failed list the way a worker settles a failed job."""
    for record in records:
        await backend.finish("host:1+1", "*", failure=record)
