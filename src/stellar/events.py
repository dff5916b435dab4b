"""Events users can observe: jobs starting, succeeding, failing, being retried or
re-enqueued; workers starting and ending; the scheduler leader changing.

::

    def on_event(event: Event) -> None:
        if event.kind == "job.failure":
            alert(event.job, event.error)

    app.events.subscribe(on_event)

Subscribers are plain callables run synchronously where the event happens: keep them
quick. An exception in a subscriber is logged and never disturbs the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from stellar.job import Job

log = logging.getLogger("stellar.events")

EventKind = Literal[
    "job.start",
    "job.success",
    "job.failure",
    "job.retry",
    "job.reenqueue",
    "worker.start",
    "worker.end",
    "worker.cleaned",
    "leader.gained",
    "leader.lost",
]


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``duration`` is in seconds (jobs that ran)."""

    kind: EventKind
    time: float
    worker: str | None = None
    queue: str | None = None
    job: Job | None = None
    error: BaseException | None = None
    duration: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class Events:
    """A small synchronous publish/subscribe hub; one per application."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns a function that removes it again."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def emit(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", subscriber, event.kind)

    def __bool__(self) -> bool:
        return bool(self._subscribers)
