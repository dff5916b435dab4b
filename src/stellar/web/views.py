"""The read side: what each page and ``GET /api`` endpoint shows, as JSON-ready dicts.

Every list is read one page at a time through ``api.tasks``; nothing here loads a whole
queue or the whole failed list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stellar.api import FailedFilter, Tasks, failed_id
from stellar.app import App
from stellar.job import FailedJob, Job, WorkingOn
from stellar.web.history import History

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
JOBS_PER_TIMESTAMP = 100  # jobs shown under one delayed timestamp
FAILED_CHUNK = 250  # failed records read per round trip when scanning
FAILED_SCAN_LIMIT = 2000  # records one filtered listing examines at most

JSON = dict[str, Any]


def iso(value: datetime | float | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, UTC)
    return value.isoformat()


@dataclass(frozen=True)
class Page:
    """Page ``number`` (from 1) of ``size`` items out of ``total``."""

    number: int
    size: int
    total: int

    @classmethod
    def of(cls, number: int, size: int, total: int) -> Page:
        size = min(max(size, 1), MAX_PER_PAGE)
        pages = max(1, math.ceil(total / size))
        return cls(min(max(number, 1), pages), size, total)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def start(self) -> int:
        return (self.number - 1) * self.size

    @property
    def stop(self) -> int:
        return self.start + self.size - 1

    def json(self) -> JSON:
        return {
            "page": self.number,
            "per_page": self.size,
            "pages": self.pages,
            "total": self.total,
        }


def job_json(job: Job) -> JSON:
    return {
        "task": job.task or None,
        "queue": job.queue,
        "args": list(job.args),
        "payload": job.payload,
    }


def working_json(doing: WorkingOn | None) -> JSON | None:
    if doing is None:
        return None
    return {
        "queue": doing.queue,
        "run_at": iso(doing.run_at),
        "task": doing.job.task if doing.job is not None else None,
        "args": list(doing.job.args) if doing.job is not None else None,
        "payload": doing.payload_text,
    }


def failed_json(failure: FailedJob, index: int) -> JSON:
    job = failure.job
    return {
        "id": failed_id(failure),
        "index": index,
        "worker": failure.worker,
        "queue": failure.queue,
        "task": job.task if job is not None else None,
        "args": list(job.args) if job is not None else None,
        "payload": failure.payload_text,
        "exception": failure.exception,
        "error": failure.error,
        "backtrace": list(failure.backtrace),
        "failed_at": iso(failure.failed_at),
    }


# ------------------------------------------------------------------ overview
async def overview(tasks: Tasks, history: History, now: float) -> JSON:
    details = await tasks.details()
    queues = []
    for q in details.queues:
        age = round(history.oldest_age(q.name, now), 1)
        queues.append({"name": q.name, "length": q.length, "oldest_age": age})
    minutes = history.per_minute(now)
    return {
        "now": iso(now),
        "totals": {
            "processed": details.stats.get("processed", 0),
            "failed": details.stats.get("failed", 0),
            "queued": sum(q.length for q in details.queues),
            "delayed": details.delayed,
            "failed_jobs": details.failed,
            "workers": len(details.workers),
            "busy": sum(1 for w in details.workers if w.working_on is not None),
        },
        "leader": details.leader,
        "queues": queues,
        "throughput": {
            "since": iso(history.started),
            "interval": history.interval,
            "minutes": [
                {"start": iso(m.start), "processed": m.processed, "failed": m.failed}
                for m in minutes
            ],
        },
    }


async def queue_names(tasks: Tasks) -> list[JSON]:
    return [{"name": q, "length": await tasks.length(q)} for q in await tasks.queues()]


# --------------------------------------------------------------------- queue
async def queue_jobs(tasks: Tasks, queue: str, number: int, size: int) -> JSON:
    length = await tasks.length(queue)
    page = Page.of(number, size, length)
    jobs = await tasks.queued(queue, page.start, page.stop) if length else []
    items = [{"position": page.start + i, **job_json(job)} for i, job in enumerate(jobs)]
    return {"queue": queue, "length": length, **page.json(), "items": items}


# ------------------------------------------------------------------- delayed
async def delayed(tasks: Tasks, number: int, size: int) -> JSON:
    """Delayed jobs by time, a page of timestamps at a time."""
    stamps = await tasks.timestamps()
    page = Page.of(number, size, len(stamps))
    items = []
    for when in stamps[page.start : page.stop + 1]:
        jobs = await tasks.delayed_at(when)
        items.append(
            {
                "timestamp": int(when.timestamp()),
                "at": iso(when),
                "count": len(jobs),
                "jobs": [job_json(job) for job in jobs[:JOBS_PER_TIMESTAMP]],
            }
        )
    jobs_total = (await tasks.details()).delayed
    return {"jobs": jobs_total, **page.json(), "items": items}


# -------------------------------------------------------------------- failed
@dataclass(frozen=True)
class FailedQuery:
    """Which failed jobs a listing or a bulk action is about: ``api.FailedFilter``'s
    fields (shell wildcards allowed) plus ``text``, searched case-insensitively in the
    exception, the error and the payload. Empty: every failed job."""

    queue: str = ""
    task: str = ""
    exception: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        return bool(self.queue or self.task or self.exception or self.text)

    @property
    def fields(self) -> FailedFilter:
        return FailedFilter(
            task=self.task or None, queue=self.queue or None, exception=self.exception or None
        )

    def __call__(self, failure: FailedJob) -> bool:
        if not self.fields(failure):
            return False
        if self.text:
            haystack = f"{failure.exception}\n{failure.error}\n{failure.payload_text}"
            return self.text.casefold() in haystack.casefold()
        return True

    def json(self) -> JSON:
        return {
            "queue": self.queue, "task": self.task, "exception": self.exception,
            "text": self.text,
        }  # fmt: skip


async def failed(
    tasks: Tasks, where: FailedQuery, number: int, size: int, before: int | None
) -> JSON:
    """Failed jobs, newest first: numbered pages, or with a filter, cursor pages that
    each examine at most ``FAILED_SCAN_LIMIT`` records (``before``: the absolute index
    where the previous page stopped)."""
    total = await tasks.failed_count()
    if not where.active:
        page = Page.of(number, size, total)
        records = await tasks.failed(-(page.stop + 1), -(page.start + 1)) if total else []
        newest = total - 1 - page.start
        items = [failed_json(f, newest - i) for i, f in enumerate(reversed(records))]
        return {"filtered": False, **page.json(), "items": items, "filter": where.json()}
    size = min(max(size, 1), MAX_PER_PAGE)
    found, next_before, scanned = await _scan(tasks, where, size, total, before)
    return {
        "filtered": True, "total": total, "per_page": size, "items": found,
        "before": before, "next_before": next_before, "scanned": scanned,
        "filter": where.json(),
    }  # fmt: skip


async def _scan(
    tasks: Tasks, where: FailedQuery, size: int, total: int, before: int | None
) -> tuple[list[JSON], int | None, int]:
    cursor = total if before is None else min(max(before, 0), total)
    found: list[JSON] = []
    scanned = 0
    while cursor > 0 and scanned < FAILED_SCAN_LIMIT:
        low = max(0, cursor - FAILED_CHUNK)
        records = await tasks.failed(low, cursor - 1)
        for offset, failure in enumerate(reversed(records)):
            index = cursor - 1 - offset
            scanned += 1
            if where(failure):
                found.append(failed_json(failure, index))
                if len(found) == size:
                    return found, (index if index > 0 else None), scanned
        cursor = low
    return found, (cursor if cursor > 0 else None), scanned


# ------------------------------------------------------------------- workers
async def workers(tasks: Tasks, now: float, stuck_after: float) -> JSON:
    items = []
    busy = 0
    for worker in await tasks.workers():
        seen = worker.last_ping or worker.started
        busy += worker.working_on is not None
        items.append(
            {
                "name": worker.name,
                "queues": worker.queues,
                "started": iso(worker.started),
                "last_ping": iso(worker.last_ping),
                "stale": seen is not None and now - seen.timestamp() > stuck_after,
                "job": working_json(worker.working_on),
            }
        )
    return {"total": len(items), "busy": busy, "stuck_after": stuck_after, "items": items}


# --------------------------------------------------------------------- locks
async def locks(tasks: Tasks, number: int, size: int) -> JSON:
    everything = sorted((await tasks.locks()).items())
    page = Page.of(number, size, len(everything))
    items = [
        # a lock whose value is not its expiry time (not Resque's layout) shows as unknown
        {"name": name, "expires": iso(expires) if expires.timestamp() > 0 else None}
        for name, expires in everything[page.start : page.stop + 1]
    ]
    return {**page.json(), "items": items}


# ------------------------------------------------------------------ periodic
async def periodic(app: App, tasks: Tasks) -> JSON:
    registry = app.registry
    definitions = registry.periodic() if registry is not None else []
    stopped = await tasks.stopped_recurrent()
    running = {
        w.working_on.job.task
        for w in await tasks.workers()
        if w.working_on is not None and w.working_on.job is not None
    }
    items = []
    for definition in definitions:
        times = await tasks.scheduled_at(definition.queue, definition.name)
        if definition.name in stopped:
            state = "stopped"
        elif definition.name in running:
            state = "running"
        else:
            state = "scheduled" if times else "queued"
        items.append(
            {
                "name": definition.name,
                "description": definition.description,
                "queue": definition.queue,
                "frequency": definition.frequency,
                "state": state,
                "stopped": definition.name in stopped,
                "next_run": iso(min(times)) if times else None,
            }
        )
    return {"total": len(items), "items": items}


# ----------------------------------------------------------------- tasks
def definitions(app: App) -> JSON:
    registry = app.registry
    items = [
        {
            "name": t.name,
            "description": t.description,
            "queue": t.queue,
            "frequency": t.frequency,
            "timeout": t.timeout,
            "plugins": [type(p).__name__ for p in t.plugins],
            "kind": "async" if t.is_async else "thread",
        }
        for t in (registry if registry is not None else [])
    ]
    return {"total": len(items), "items": items}
