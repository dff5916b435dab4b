"""Every piece of output of the management commands, and nothing else.

Each ``*_view`` function turns records into a :class:`View`: a rich renderable for people
and plain JSON data for scripts (``--json``). :class:`Output` prints one or the other;
:func:`progress_bar` draws the bar of long bulk operations on stderr, so that stdout stays
clean for ``--json``.

JSON conventions: times are ISO 8601 in UTC (``2030-01-01T09:00:00+00:00``) or ``null``;
a job is ``{"task", "queue", "args", "payload"}`` where ``payload`` is the exact stored text;
a failed job carries its ``index``, ``id`` and ``ref`` (``index:id``, how the command line
names it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from stellar.api import Progress as ProgressCallback
from stellar.api import failed_id, failed_queue
from stellar.job import BulkResult, Details, FailedJob, Job, QueueInfo, WorkerInfo, WorkingOn

PROGRESS_MIN = 100
"""Bulk operations over at least this many records show a progress bar."""

WIDE = 200  # columns when stdout is not a terminal: never cut lines for grep and logs


@dataclass(frozen=True)
class View:
    """One command's output, for people (``human``) and for scripts (``data``)."""

    human: RenderableType
    data: Any


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout (or stderr): built per call, so that it writes to
    whatever stream is current (click's test runner swaps them)."""
    probe = Console(stderr=stderr)
    width = None if probe.is_terminal else WIDE
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=False)


@dataclass(frozen=True)
class Output:
    """Prints views as rich text, or as JSON with ``as_json``."""

    as_json: bool = False

    def show(self, view: View) -> None:
        if self.as_json:
            click.echo(json.dumps(view.data, indent=2, ensure_ascii=False))
        else:
            console().print(view.human)


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[ProgressCallback | None]:
    """A progress callback drawing a bar on stderr, or None when ``total`` is small."""
    if total < PROGRESS_MIN:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)

        def update(done: int, new_total: int) -> None:
            bar.update(task, completed=done, total=max(new_total, 1))

        yield update


# ---------------------------------------------------------------- values


def when_data(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def when_text(dt: datetime | None, now: float | None = None) -> str:
    """Local time with how long ago (or how soon) it is: ``2030-01-01 10:00:00 (in 5m)``."""
    if dt is None:
        return "-"
    now = time.time() if now is None else now
    delta = dt.timestamp() - now
    span = _span(abs(delta))
    relative = "now" if span == "0s" else (f"in {span}" if delta > 0 else f"{span} ago")
    return f"{dt.astimezone().strftime('%Y-%m-%d %H:%M:%S')} ({relative})"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _args_text(job: Job | None, raw: str = "") -> str:
    if job is None:
        return raw
    if len(job.args) == 1:
        return json.dumps(job.args[0], ensure_ascii=False)
    return json.dumps(list(job.args), ensure_ascii=False)


def _task_text(job: Job | None) -> Text:
    if job is None or not job.task:
        return Text("(unreadable payload)", style="red")
    return Text(job.task)


def _clip(text: str, limit: int = 80) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _table(title: str | None, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _cells(*values: str | Text) -> list[Text]:
    """Table cells as ``Text``: record contents are never read as rich markup."""
    return [v if isinstance(v, Text) else Text(v) for v in values]


def job_data(job: Job) -> dict[str, Any]:
    return {"task": job.task, "queue": job.queue, "args": list(job.args), "payload": job.payload}


def working_on_data(doing: WorkingOn | None) -> dict[str, Any] | None:
    if doing is None:
        return None
    return {
        "queue": doing.queue,
        "run_at": when_data(doing.run_at),
        "task": doing.job.task if doing.job is not None else None,
        "args": list(doing.job.args) if doing.job is not None else None,
        "payload": doing.payload_text,
    }


def worker_data(worker: WorkerInfo) -> dict[str, Any]:
    return {
        "name": worker.name,
        "queues": worker.queues,
        "started": when_data(worker.started),
        "last_ping": when_data(worker.last_ping),
        "working_on": working_on_data(worker.working_on),
    }


def failed_ref(index: int, job: FailedJob) -> str:
    """How the command line names one failed job: ``<index>:<id>``."""
    return f"{index}:{failed_id(job)}"


def failed_data(index: int, job: FailedJob) -> dict[str, Any]:
    return {
        "index": index,
        "id": failed_id(job),
        "ref": failed_ref(index, job),
        "task": job.job.task if job.job is not None else None,
        "queue": failed_queue(job),
        "args": list(job.job.args) if job.job is not None else None,
        "worker": job.worker,
        "exception": job.exception,
        "error": job.error,
        "backtrace": list(job.backtrace),
        "failed_at": when_data(job.failed_at),
        "payload": job.payload_text,
        "record": job.raw,
    }


# ----------------------------------------------------------------- views


def message_view(text: str, data: Mapping[str, Any]) -> View:
    return View(Text(text), dict(data))


def queues_view(queues: Sequence[QueueInfo]) -> View:
    table = _table(None, "queue", "length")
    for info in queues:
        table.add_row(*_cells(info.name, str(info.length)))
    human: RenderableType = table if queues else Text("no queues")
    return View(human, [{"name": q.name, "length": q.length} for q in queues])


def queue_view(queue: str, length: int, start: int, jobs: Sequence[Job]) -> View:
    table = _table(f"queue {queue}: {length} job(s)", "#", "task", "params")
    for offset, job in enumerate(jobs):
        table.add_row(*_cells(str(start + offset), _task_text(job), _args_text(job, job.payload)))
    if jobs and start + len(jobs) < length:
        table.caption = f"{start}..{start + len(jobs) - 1} of {length}; more with --start"
    human: RenderableType = table if jobs else Text(f"queue {queue}: no jobs from {start} on")
    data = {
        "queue": queue,
        "length": length,
        "start": start,
        "jobs": [job_data(job) for job in jobs],
    }
    return View(human, data)


def stats_view(stats: Mapping[str, int]) -> View:
    table = _table(None, "stat", "value")
    for name, value in sorted(stats.items()):
        table.add_row(*_cells(name, str(value)))
    return View(table if stats else Text("no stats yet"), dict(sorted(stats.items())))


def locks_view(locks: Mapping[str, datetime]) -> View:
    table = _table(None, "lock", "expires")
    for name, expires in sorted(locks.items()):
        table.add_row(*_cells(name, when_text(expires)))
    data = {name: when_data(expires) for name, expires in sorted(locks.items())}
    return View(table if locks else Text("no locks"), data)


def delayed_view(delayed: Mapping[datetime, Sequence[Job]]) -> View:
    table = _table(None, "due", "timestamp", "task", "queue", "params")
    count = 0
    for at, jobs in sorted(delayed.items()):
        for job in jobs:
            count += 1
            row = (when_text(at), str(int(at.timestamp())), _task_text(job), job.queue)
            table.add_row(*_cells(*row, _args_text(job, job.payload)))
    table.caption = f"{count} delayed job(s) at {len(delayed)} time(s)"
    data = [
        {
            "at": when_data(at),
            "timestamp": int(at.timestamp()),
            "jobs": [job_data(job) for job in jobs],
        }
        for at, jobs in sorted(delayed.items())
    ]
    return View(table if delayed else Text("no delayed jobs"), data)


def scheduled_view(task: str, queue: str, params: Any, times: Sequence[datetime]) -> View:
    shown = json.dumps(params, ensure_ascii=False)
    if times:
        lines = [f"{task} {shown} in queue {queue} is delayed until:"]
        lines += [f"  {when_text(t)}" for t in times]
        human = Text("\n".join(lines))
    else:
        human = Text(f"{task} {shown} is not delayed in queue {queue}")
    data = {"task": task, "queue": queue, "params": params, "at": [when_data(t) for t in times]}
    return View(human, data)


def _doing_text(doing: WorkingOn | None) -> tuple[Text, str, str]:
    if doing is None:
        return Text("idle", style="dim"), "", ""
    task = _task_text(doing.job)
    params = _args_text(doing.job, doing.payload_text)
    return task, _clip(params, 60), when_text(doing.run_at)


def _workers_table(workers: Sequence[WorkerInfo]) -> Table:
    table = _table(None, "worker", "queues", "working on", "params", "since", "last ping")
    for w in workers:
        task, params, since = _doing_text(w.working_on)
        table.add_row(*_cells(w.name, w.queues, task, params, since, when_text(w.last_ping)))
    return table


def workers_view(workers: Sequence[WorkerInfo]) -> View:
    human: RenderableType = _workers_table(workers) if workers else Text("no workers")
    return View(human, [worker_data(w) for w in workers])


def details_view(details: Details) -> View:
    parts: list[RenderableType] = []
    queues = queues_view(details.queues).human
    parts += [Text("Queues", style="bold"), queues, Text("")]
    workers = _workers_table(details.workers) if details.workers else Text("no workers")
    parts += [Text("Workers", style="bold"), workers, Text("")]
    parts += [Text("Stats", style="bold"), stats_view(details.stats).human, Text("")]
    parts.append(Text(f"Delayed jobs: {details.delayed}"))
    parts.append(Text(f"Failed jobs: {details.failed}"))
    parts.append(Text(f"Scheduler leader: {details.leader or '(none)'}"))
    data = {
        "queues": queues_view(details.queues).data,
        "workers": [worker_data(w) for w in details.workers],
        "stats": dict(sorted(details.stats.items())),
        "leader": details.leader,
        "delayed": details.delayed,
        "failed": details.failed,
    }
    return View(Group(*parts), data)


def failed_list_view(
    entries: Sequence[tuple[int, FailedJob]], total: int, *, more: int | None
) -> View:
    """``more``: the ``--start`` that shows the next matching jobs, None when none left."""
    table = _table(None, "ref", "task", "queue", "exception", "error", "failed at")
    for index, job in entries:
        table.add_row(
            *_cells(
                failed_ref(index, job),
                _task_text(job.job),
                failed_queue(job),
                job.exception,
                _clip(job.error, 60),
                when_text(job.failed_at),
            )
        )
    caption = f"{len(entries)} shown of {total} failed job(s)"
    if more is not None:
        caption += f"; more with --start {more}"
    table.caption = caption
    human: RenderableType = table if entries else Text(f"no failed jobs shown ({total} in all)")
    data = {
        "total": total,
        "next_start": more,
        "jobs": [failed_data(index, job) for index, job in entries],
    }
    return View(human, data)


def failed_view(index: int, job: FailedJob) -> View:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    rows = [
        ("ref", failed_ref(index, job)),
        ("task", job.job.task if job.job is not None else "(unreadable payload)"),
        ("queue", failed_queue(job)),
        ("params", _args_text(job.job, job.payload_text)),
        ("worker", job.worker),
        ("exception", job.exception),
        ("error", job.error),
        ("failed at", when_text(job.failed_at)),
        ("payload", job.payload_text),
    ]
    for name, value in rows:
        grid.add_row(*_cells(name, value))
    parts: list[RenderableType] = [grid]
    if job.backtrace:
        parts += [Text("backtrace", style="bold"), Text("\n".join(job.backtrace))]
    return View(Group(*parts), failed_data(index, job))


def bulk_view(verb: str, result: BulkResult) -> View:
    """``verb``: ``retried`` or ``removed``."""
    text = f"{verb} {result.done} of {result.matched} matching failed job(s)"
    notes = []
    if result.kept:
        notes.append(f"{result.kept} kept (a plugin vetoed the retry or no queue to retry in)")
    if result.missing:
        notes.append(f"{result.missing} already gone")
    if notes:
        text += " (" + "; ".join(notes) + ")"
    data = {
        verb: result.done,
        "matched": result.matched,
        "examined": result.examined,
        "kept": result.kept,
        "missing": result.missing,
    }
    return View(Text(text), data)


def cleaned_view(cleaned: Mapping[str, FailedJob | None]) -> View:
    if not cleaned:
        return View(Text("no worker to clean"), {"cleaned": {}})
    lines = [f"cleaned {len(cleaned)} worker(s):"]
    data: dict[str, Any] = {}
    for name, record in sorted(cleaned.items()):
        if record is None:
            lines.append(f"  {name}: idle")
            data[name] = None
        else:
            task = record.job.task if record.job is not None else "(unreadable payload)"
            lines.append(f"  {name}: its job {task} went to the failed list")
            data[name] = {"task": task, "queue": failed_queue(record), "error": record.error}
    return View(Text("\n".join(lines)), {"cleaned": data})


@dataclass(frozen=True)
class RecurrentRow:
    """One periodic task as ``stellar recurrent`` shows it."""

    task: str
    queue: str
    frequency: float
    stopped: bool
    delayed_until: tuple[datetime, ...]


def recurrent_view(rows: Sequence[RecurrentRow]) -> View:
    table = _table(None, "task", "queue", "every", "state", "next run")
    for row in rows:
        state = Text("stopped", style="yellow") if row.stopped else Text("active", style="green")
        upcoming = when_text(row.delayed_until[0]) if row.delayed_until else "-"
        table.add_row(*_cells(row.task, row.queue, f"{row.frequency:g}s", state, upcoming))
    data = [
        {
            "task": row.task,
            "queue": row.queue,
            "frequency": row.frequency,
            "stopped": row.stopped,
            "delayed_until": [when_data(t) for t in row.delayed_until],
        }
        for row in rows
    ]
    return View(table if rows else Text("no periodic tasks"), data)


# ------------------------------------------------------- what a change did


def _params_text(params: Any) -> str:
    return json.dumps({} if params is None else params, ensure_ascii=False)


def queue_deleted_view(queue: str, removed: int) -> View:
    text = f"deleted queue {queue!r} and its {removed} job(s)"
    return message_view(text, {"queue": queue, "deleted": removed})


def jobs_removed_view(queue: str, task: str, params: Any, removed: int) -> View:
    text = f"removed {removed} job(s) of {task} {_params_text(params)} from queue {queue!r}"
    return message_view(text, {"queue": queue, "task": task, "removed": removed})


def lock_deleted_view(name: str) -> View:
    return message_view(f"deleted lock {name!r}", {"deleted": name})


def delayed_removed_view(removed: int, at: datetime | None = None) -> View:
    due = f" due at {when_text(at)}" if at is not None else ""
    return message_view(f"removed {removed} delayed job(s){due}", {"removed": removed})


def delayed_task_removed_view(
    task: str, queue: str, params: Any, times: Sequence[datetime]
) -> View:
    text = f"removed {task} {_params_text(params)} from {len(times)} delayed time(s)"
    if times:
        text += ": " + ", ".join(when_text(t) for t in times)
    data = {"task": task, "queue": queue, "removed": [when_data(t) for t in times]}
    return message_view(text, data)


def worker_cleaned_view(
    name: str, record: FailedJob | None, doing: WorkingOn | None, requeued: bool
) -> View:
    if record is not None:
        fate = "its job went to the failed list"
    elif doing is not None and requeued:
        fate = f"its job went back to queue {doing.queue!r}"
    else:
        fate = "it was idle"
    data = {
        "cleaned": name,
        "failed": record is not None,
        "requeued": doing is not None and requeued,
    }
    return message_view(f"cleaned worker {name}: {fate}", data)


def recurrent_started_view(task: str, seeded: bool) -> View:
    if seeded:
        text = f"started periodic task {task}: a copy is due now"
    else:
        text = f"started periodic task {task} (a copy is already queued, delayed or running)"
    return message_view(text, {"task": task, "seeded": seeded})


def recurrent_stopped_view(task: str, removed: int) -> View:
    text = (
        f"stopped periodic task {task} (removed {removed} queued or delayed copies); "
        f"`stellar recurrent start {task}` starts it again"
    )
    return message_view(text, {"task": task, "removed": removed})


def failed_retried_view(index: int, job: FailedJob) -> View:
    ref = failed_ref(index, job)
    text = f"retried failed job {ref} in queue {failed_queue(job)!r}"
    return message_view(text, {"retried": 1, "ref": ref})


def failed_removed_view(index: int, job: FailedJob) -> View:
    ref = failed_ref(index, job)
    return message_view(f"removed failed job {ref}", {"removed": 1, "ref": ref})
