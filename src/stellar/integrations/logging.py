"""Per-job context on standard ``logging`` records.

::

    import logging
    from stellar.integrations.logging import JobContextFilter, instrument

    handler = logging.StreamHandler()
    handler.addFilter(JobContextFilter(default="-"))
    handler.setFormatter(logging.Formatter(
        "%(levelname)s %(name)s [%(stellar_task)s %(stellar_run)s] %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])

    async with App(".") as app:
        instrument(app)          # every job now runs inside its own JobContext

While a job runs, :func:`current_job` returns its :class:`JobContext`, in the job's own
code and in everything it calls (threads started by ``asyncio.to_thread`` included), and
:class:`JobContextFilter` copies it onto every record as ``stellar_task``,
``stellar_queue``, ``stellar_worker`` and ``stellar_run`` (a random id of this one run, to
group its lines), ready for a text or JSON formatter. Outside a job they hold ``default``.

The context is a :class:`contextvars.ContextVar` set by a ``job.start`` subscriber and
cleared on ``job.success``/``job.failure``: subscribers run in the worker's own task,
just before and after the job, so each concurrent job sees only its own context.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

from stellar.app import App
from stellar.events import Event

FIELDS = ("task", "queue", "worker", "run")


@dataclass(frozen=True)
class JobContext:
    """The job running in the current context. ``run`` is a random id of this run."""

    task: str
    queue: str
    worker: str | None
    run: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_current: ContextVar[JobContext | None] = ContextVar("stellar_job", default=None)


def current_job() -> JobContext | None:
    """The job running in this context, or None outside a job."""
    return _current.get()


def _on_event(event: Event) -> None:
    if event.kind == "job.start" and event.job is not None:
        run = secrets.token_hex(8)
        _current.set(JobContext(event.job.task, event.job.queue, event.worker, run))
    elif event.kind in ("job.success", "job.failure", "worker.end"):
        _current.set(None)


def instrument(app: App) -> Callable[[], None]:
    """Give every job ``app`` runs its :class:`JobContext`. Returns the function that
    undoes it. Call it before jobs start (right after ``async with App(...)`` is fine:
    no job runs before the first ``await``)."""
    return app.events.subscribe(_on_event)


class JobContextFilter(logging.Filter):
    """Adds ``<prefix>task``, ``<prefix>queue``, ``<prefix>worker`` and ``<prefix>run`` to
    every record it sees (``default`` outside a job). Attach it to a *handler*: a filter
    on a logger does not see records propagated from its children."""

    def __init__(self, default: Any = None, *, prefix: str = "stellar_") -> None:
        super().__init__()
        self.default = default
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        job = _current.get()
        for name in FIELDS:
            value = getattr(job, name) if job is not None else self.default
            setattr(record, self.prefix + name, value)
        return True
