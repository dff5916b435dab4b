"""Records that flow up from storage: frozen dataclasses, never raw dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Job:
    """One Resque job: ``{"class": task, "queue": queue, "args": [...]}``.

    ``payload`` is the exact JSON text as stored; two jobs are the same job when their
    payloads are the same string (that is how Resque matches them everywhere).
    """

    task: str
    queue: str
    args: tuple[Any, ...]
    payload: str = field(repr=False)

    @property
    def params(self) -> Any:
        """The params a Stellar task was enqueued with (``args[0]``), ``{}`` when none."""
        return self.args[0] if self.args else {}


@dataclass(frozen=True)
class FailedJob:
    """One entry of the failed list.

    ``raw`` is the record's exact stored text: removing or retrying matches on it.
    ``job`` is ``None`` when the payload was not a valid job; ``payload_text`` keeps it.
    """

    worker: str
    queue: str
    job: Job | None
    payload_text: str
    exception: str
    error: str
    backtrace: tuple[str, ...]
    failed_at: datetime | None
    raw: str = field(repr=False)


@dataclass(frozen=True)
class WorkingOn:
    """What a worker is doing right now (its working-on record)."""

    worker: str
    queue: str
    run_at: datetime | None
    job: Job | None
    payload_text: str
    raw: str = field(repr=False)


@dataclass(frozen=True)
class WorkerInfo:
    """A registered worker: ``name`` is ``host:pid+N``, ``queues`` its queue string."""

    name: str
    queues: str
    started: datetime | None = None
    last_ping: datetime | None = None
    working_on: WorkingOn | None = None

    @property
    def id(self) -> str:
        return f"{self.name}:{self.queues}"


@dataclass(frozen=True)
class QueueInfo:
    name: str
    length: int


@dataclass(frozen=True)
class Details:
    """Everything ``api.tasks.details()`` reports in one snapshot."""

    queues: tuple[QueueInfo, ...]
    workers: tuple[WorkerInfo, ...]
    stats: dict[str, int]
    leader: str | None
    delayed: int
    failed: int


@dataclass(frozen=True)
class BulkResult:
    """What a bulk operation on the failed list did (``retry_all_failed``,
    ``remove_all_failed``).

    ``examined`` records were read, ``matched`` of them matched the filter, ``done`` were
    retried (or removed). ``kept`` matched but stay in the failed list: a plugin vetoed the
    retry, or the record names no queue to put its job back in. ``missing`` matched but
    were gone by the time they were retried or removed (another client took them).
    """

    examined: int
    matched: int
    done: int
    kept: int = 0
    missing: int = 0
