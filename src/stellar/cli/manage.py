"""The management commands: the seed's ``api.tasks`` management methods on the command line.

::

    stellar queues | stats | details | locks | delayed | workers | recurrent   (listings)
    stellar queue show|delete QUEUE          stellar lock delete NAME
    stellar delayed delete|find ...          stellar workers clean NAME
    stellar failed list|show|retry|remove    stellar clean-old-workers AGE
    stellar recurrent start|stop TASK

Each command parses its input, calls ``app.api.tasks`` in a client application (it runs
nothing) and hands the records to :mod:`stellar.cli.render`, the only place that formats.
``--json`` prints JSON for scripts. Errors print one line and exit 1 (usage errors exit 2).

One failed job is named by its *ref*, ``INDEX:ID`` as ``stellar failed list`` shows it
(``3:9f2c1a7e``): ``INDEX`` is its position in the failed list, ``ID`` a fingerprint of its
exact text. The command checks that the job at ``INDEX`` still has that ``ID``; when
earlier jobs were removed meanwhile, it finds the job by ``ID`` wherever it moved, and
when the job is gone it says so. It never acts on another job than the one listed.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import click

from stellar.api import FailedFilter, Tasks, Where, to_timestamp, utc
from stellar.app import App
from stellar.cli import render
from stellar.cli.main import cli, parse_when, with_client
from stellar.errors import FailedJobNotFound, UnknownTask
from stellar.job import FailedJob, QueueInfo
from stellar.tasks.definition import Task

T = TypeVar("T")

LIST_LIMIT = 50

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of a table."
)


def call(ctx: click.Context, body: Callable[[Tasks], Awaitable[T]]) -> T:
    """Run ``body(app.api.tasks)`` in a client application. Any error becomes one line
    and a non-zero exit, never a traceback."""

    async def with_tasks(app: App) -> T:
        return await body(app.api.tasks)

    # A client application says it started at INFO: noise around a listing, so it is
    # only shown with --log-level DEBUG.
    app_log = logging.getLogger("stellar.app")
    level = app_log.level
    if not app_log.isEnabledFor(logging.DEBUG):
        app_log.setLevel(logging.WARNING)
    try:
        return with_client(with_tasks)(ctx)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as exc:  # not a StellarError (those are handled by run_async)
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    finally:
        app_log.setLevel(level)


def show(
    ctx: click.Context, as_json: bool, body: Callable[[Tasks], Awaitable[render.View]]
) -> None:
    render.Output(as_json).show(call(ctx, body))


def parse_params(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--params is not valid JSON: {exc}") from None


_AGE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*\Z")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h``, ``1d``: seconds."""
    match = _AGE.match(text.lower())
    if match is None:
        raise click.BadParameter(
            f"{text!r}: expected seconds or a number with s, m, h or d (e.g. 90, 15m, 2h)",
            param_hint="AGE",
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


_REF = re.compile(r"(\d+)(?::([0-9a-fA-F]{8}))?\Z")


def parse_ref(text: str, *, need_id: bool) -> tuple[int, str | None]:
    """``INDEX:ID`` (or ``INDEX`` alone when ``need_id`` is False)."""
    match = _REF.match(text.strip())
    if match is None or (need_id and match.group(2) is None):
        example = "3:9f2c1a7e"
        raise click.BadParameter(
            f"{text!r}: name a failed job by its ref as `stellar failed list` shows it "
            f"(INDEX:ID, e.g. {example}), so that a job that moved is never taken for another",
            param_hint="REF",
        )
    ident = match.group(2)
    return int(match.group(1)), ident.lower() if ident else None


def failed_filter(task: str | None, queue: str | None, exception: str | None) -> Where:
    if task is None and queue is None and exception is None:
        return None
    return FailedFilter(task=task, queue=queue, exception=exception)


async def known_queue(tasks: Tasks, queue: str) -> None:
    names = await tasks.queues()
    if queue not in names and not await tasks.length(queue):
        known = ", ".join(names) if names else "none"
        raise click.ClickException(f"no queue named {queue!r} (queues: {known})")


def task_queue(tasks: Tasks, task: str, queue: str | None) -> str:
    """``queue``, else the registered task's own queue."""
    if queue is not None:
        return queue
    try:
        return tasks.registry.get(task).queue
    except UnknownTask:
        raise click.ClickException(
            f"task {task!r} is not registered in this application: give --queue"
        ) from None


# ------------------------------------------------------------------ listings


@cli.command()
@json_option
@click.pass_context
def queues(ctx: click.Context, as_json: bool) -> None:
    """List the queues with how many jobs wait in each."""

    async def body(tasks: Tasks) -> render.View:
        infos = [QueueInfo(name, await tasks.length(name)) for name in await tasks.queues()]
        return render.queues_view(infos)

    show(ctx, as_json, body)


@cli.command()
@json_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Show the counters: processed, failed, and per worker."""

    async def body(tasks: Tasks) -> render.View:
        return render.stats_view(await tasks.stats())

    show(ctx, as_json, body)


@cli.command()
@json_option
@click.pass_context
def details(ctx: click.Context, as_json: bool) -> None:
    """Everything at once: queues, workers and their jobs, stats, leader."""

    async def body(tasks: Tasks) -> render.View:
        return render.details_view(await tasks.details())

    show(ctx, as_json, body)


@cli.command()
@json_option
@click.pass_context
def locks(ctx: click.Context, as_json: bool) -> None:
    """List the plugin locks (lock:* and workerslock:*) with when each expires."""

    async def body(tasks: Tasks) -> render.View:
        return render.locks_view(await tasks.locks())

    show(ctx, as_json, body)


# ------------------------------------------------------------------- queue


@cli.group()
def queue() -> None:
    """Show or delete the jobs of one queue."""


@queue.command("show")
@click.argument("name")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--limit", type=click.IntRange(min=0), default=LIST_LIMIT, show_default=True,
    help="How many jobs to show (0: all).",
)  # fmt: skip
@json_option
@click.pass_context
def queue_show(ctx: click.Context, name: str, start: int, limit: int, as_json: bool) -> None:
    """Show the jobs waiting in queue NAME, head first."""

    async def body(tasks: Tasks) -> render.View:
        await known_queue(tasks, name)
        jobs = await tasks.queued(name, start, start + limit - 1 if limit else -1)
        return render.queue_view(name, await tasks.length(name), start, jobs)

    show(ctx, as_json, body)


@queue.command("delete")
@click.argument("name")
@click.option("--task", help="Remove only the jobs of this task (else: the whole queue).")
@click.option("--params", help="With --task: only jobs with exactly these params (JSON).")
@click.option(
    "--count", type=int, default=0, show_default=True,
    help="With --task: 0 removes all matches, N the first N, -N the last N.",
)  # fmt: skip
@json_option
@click.pass_context
def queue_delete(
    ctx: click.Context,
    name: str,
    task: str | None,
    params: str | None,
    count: int,
    as_json: bool,
) -> None:
    """Delete queue NAME with its jobs, or only some jobs of a task (--task)."""
    if task is None and (params is not None or count):
        raise click.UsageError("--params and --count need --task")
    value = parse_params(params)

    async def body(tasks: Tasks) -> render.View:
        await known_queue(tasks, name)
        if task is None:
            return render.queue_deleted_view(name, await tasks.delete_queue(name))
        removed = await tasks.delete(name, task, value, count)
        return render.jobs_removed_view(name, task, value, removed)

    show(ctx, as_json, body)


# ------------------------------------------------------------------- locks


@cli.group()
def lock() -> None:
    """Delete a plugin lock."""


@lock.command("delete")
@click.argument("name")
@json_option
@click.pass_context
def lock_delete(ctx: click.Context, name: str, as_json: bool) -> None:
    """Delete the lock NAME (as `stellar locks` lists it)."""

    async def body(tasks: Tasks) -> render.View:
        if not await tasks.delete_lock(name):
            raise click.ClickException(f"no lock named {name!r} (`stellar locks` lists them)")
        return render.lock_deleted_view(name)

    show(ctx, as_json, body)


# ----------------------------------------------------------------- delayed


@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def delayed(ctx: click.Context, as_json: bool) -> None:
    """List the delayed jobs by time (or delete / find some: see the subcommands)."""
    if ctx.invoked_subcommand is not None:
        return

    async def body(tasks: Tasks) -> render.View:
        return render.delayed_view(await tasks.all_delayed())

    show(ctx, as_json, body)


@delayed.command("delete")
@click.option("--task", help="Remove the delayed copies of this task...")
@click.option("--params", help="...with exactly these params (JSON; default {}).")
@click.option("--queue", "queue_name", help="...in this queue (default: the task's).")
@click.option("--at", "at", help="Remove every job due at this time (unix seconds or ISO 8601).")
@click.option("--all", "everything", is_flag=True, help="Remove every delayed job.")
@json_option
@click.pass_context
def delayed_delete(
    ctx: click.Context,
    task: str | None,
    params: str | None,
    queue_name: str | None,
    at: str | None,
    everything: bool,
    as_json: bool,
) -> None:
    """Remove delayed jobs: of one task (--task), at one time (--at), or all (--all)."""
    if sum((task is not None, at is not None, everything)) != 1:
        raise click.UsageError("give exactly one of --task, --at or --all")
    if task is None and (params is not None or queue_name is not None):
        raise click.UsageError("--params and --queue need --task")
    value = parse_params(params)

    async def body(tasks: Tasks) -> render.View:
        if everything:
            return render.delayed_removed_view(await tasks.delete_all_delayed())
        if at is not None:
            when = parse_when(at)
            removed = await tasks.delete_delayed_at(when)
            return render.delayed_removed_view(removed, utc(math.ceil(to_timestamp(when))))
        assert task is not None
        target = task_queue(tasks, task, queue_name)
        times = await tasks.delete_delayed(target, task, value)
        return render.delayed_task_removed_view(task, target, value, times)

    show(ctx, as_json, body)


@delayed.command("find")
@click.argument("task")
@click.option("--params", help="Params (JSON; default {}).")
@click.option("--queue", "queue_name", help="Queue (default: the task's).")
@json_option
@click.pass_context
def delayed_find(
    ctx: click.Context, task: str, params: str | None, queue_name: str | None, as_json: bool
) -> None:
    """Show when TASK with exactly these params is delayed until."""
    value = parse_params(params)

    async def body(tasks: Tasks) -> render.View:
        target = task_queue(tasks, task, queue_name)
        times = await tasks.scheduled_at(target, task, value)
        return render.scheduled_view(task, target, {} if value is None else value, times)

    show(ctx, as_json, body)


# ----------------------------------------------------------------- workers


@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def workers(ctx: click.Context, as_json: bool) -> None:
    """List the registered workers and what each works on."""
    if ctx.invoked_subcommand is not None:
        return

    async def body(tasks: Tasks) -> render.View:
        return render.workers_view(await tasks.workers())

    show(ctx, as_json, body)


@workers.command("clean")
@click.argument("name")
@click.option("--requeue", is_flag=True, help="Put its job back in its queue (not in failed).")
@json_option
@click.pass_context
def workers_clean(ctx: click.Context, name: str, requeue: bool, as_json: bool) -> None:
    """Unregister the dead worker NAME; its job goes to the failed list (or --requeue).

    This does not stop a process: use it for workers that are gone."""

    async def body(tasks: Tasks) -> render.View:
        before = {w.name: w for w in await tasks.workers()}.get(name)
        record = await tasks.force_clean_worker(name, requeue=requeue)
        doing = before.working_on if before is not None else None
        return render.worker_cleaned_view(name, record, doing, requeue)

    show(ctx, as_json, body)


@cli.command("clean-old-workers")
@click.argument("age")
@json_option
@click.pass_context
def clean_old_workers(ctx: click.Context, age: str, as_json: bool) -> None:
    """Clean the workers silent for longer than AGE (90, 15m, 2h, 1d).

    A worker's last sign of life is its last ping, the start of its job or its own start,
    whichever is latest; the job of a cleaned worker goes to the failed list."""
    seconds = parse_age(age)

    async def body(tasks: Tasks) -> render.View:
        return render.cleaned_view(await tasks.clean_old_workers(seconds))

    show(ctx, as_json, body)


# --------------------------------------------------------------- recurrent


@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def recurrent(ctx: click.Context, as_json: bool) -> None:
    """List the periodic tasks, stopped or not (or start / stop one)."""
    if ctx.invoked_subcommand is not None:
        return

    async def body(tasks: Tasks) -> render.View:
        stopped = await tasks.stopped_recurrent()
        rows = []
        for definition in tasks.registry.periodic():
            times = await tasks.scheduled_at(definition.queue, definition.name)
            rows.append(row(definition, definition.name in stopped, times))
        return render.recurrent_view(rows)

    def row(definition: Task, stopped: bool, times: list[Any]) -> render.RecurrentRow:
        return render.RecurrentRow(
            task=definition.name, queue=definition.queue, frequency=definition.frequency,
            stopped=stopped, delayed_until=tuple(times),
        )  # fmt: skip

    show(ctx, as_json, body)


@recurrent.command("start")
@click.argument("task")
@json_option
@click.pass_context
def recurrent_start(ctx: click.Context, task: str, as_json: bool) -> None:
    """(Re)start the periodic TASK: clear a stop and seed a copy due now."""

    async def body(tasks: Tasks) -> render.View:
        return render.recurrent_started_view(task, await tasks.enqueue_recurrent(task))

    show(ctx, as_json, body)


@recurrent.command("stop")
@click.argument("task")
@json_option
@click.pass_context
def recurrent_stop(ctx: click.Context, task: str, as_json: bool) -> None:
    """Stop the periodic TASK until `stellar recurrent start TASK` (restarts included)."""

    async def body(tasks: Tasks) -> render.View:
        return render.recurrent_stopped_view(task, await tasks.stop_recurrent(task))

    show(ctx, as_json, body)


# ------------------------------------------------------------------ failed


@cli.group()
def failed() -> None:
    """List, show, retry or remove failed jobs.

    One failed job is named by its ref, INDEX:ID as `stellar failed list` shows it
    (e.g. 3:9f2c1a7e); the ID proves it is still the same job."""


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--task", help="Only jobs of this task (shell wildcards: 'email.*')."),
            click.option("--queue", "queue_name", help="Only jobs that failed in this queue."),
            click.option("--exception", help="Only jobs that failed with this error type."),
        ]
    ):
        command = option(command)
    return command


@failed.command("list")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True,
              help="Index in the failed list to start from.")  # fmt: skip
@click.option(
    "--limit", type=click.IntRange(min=0), default=LIST_LIMIT, show_default=True,
    help="How many jobs to show (0: all).",
)  # fmt: skip
@filter_options
@json_option
@click.pass_context
def failed_list(
    ctx: click.Context,
    start: int,
    limit: int,
    task: str | None,
    queue_name: str | None,
    exception: str | None,
    as_json: bool,
) -> None:
    """List failed jobs, oldest first, with the ref that names each one."""
    where = failed_filter(task, queue_name, exception)

    async def body(tasks: Tasks) -> render.View:
        total = await tasks.failed_count()
        entries: list[tuple[int, FailedJob]] = []
        more: int | None = None
        async with aclosing(tasks.iter_failed(where, start=start)) as found:
            async for index, job in found:
                if limit and len(entries) == limit:
                    more = index
                    break
                entries.append((index, job))
        return render.failed_list_view(entries, total, more=more)

    show(ctx, as_json, body)


@failed.command("show")
@click.argument("ref")
@json_option
@click.pass_context
def failed_show(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Show one failed job in full (REF: INDEX:ID, or INDEX alone)."""
    index, ident = parse_ref(ref, need_id=False)

    async def body(tasks: Tasks) -> render.View:
        now, job = await tasks.find_failed(index, ident)
        return render.failed_view(now, job)

    show(ctx, as_json, body)


def bulk_args(ref: str | None, everything: bool, where: Where) -> None:
    picked = sum((ref is not None, everything, where is not None))
    if picked == 0:
        raise click.UsageError("give a REF, --all, or a filter (--task, --queue, --exception)")
    if ref is not None and picked > 1:
        raise click.UsageError("give a REF or --all / filters, not both")


async def _retry_one(tasks: Tasks, index: int, job: FailedJob) -> render.View:
    if not await tasks.retry_and_remove_failed(job):
        raise click.ClickException(
            f"failed job {render.failed_ref(index, job)} was not retried: a plugin of its "
            "task vetoed it (it stays in the failed list)"
        )
    return render.failed_retried_view(index, job)


async def _remove_one(tasks: Tasks, index: int, job: FailedJob) -> render.View:
    if not await tasks.remove_failed(job):
        name = render.failed_ref(index, job)
        raise FailedJobNotFound(f"failed job {name} is no longer in the failed list")
    return render.failed_removed_view(index, job)


BULK_ACTIONS = {
    # verb: (what the progress bar says, bulk API method name, single-job action)
    "retried": ("retrying failed jobs", "retry_all_failed", _retry_one),
    "removed": ("removing failed jobs", "remove_all_failed", _remove_one),
}


def _failed_action(
    ctx: click.Context,
    verb: str,
    ref: str | None,
    everything: bool,
    where: Where,
    as_json: bool,
) -> None:
    """Retry or remove: one job (REF), --all, or those matching filters."""
    bulk_args(ref, everything, where)
    target = parse_ref(ref, need_id=True) if ref is not None else None
    label, bulk, one = BULK_ACTIONS[verb]

    async def body(tasks: Tasks) -> render.View:
        if target is None:
            total = await tasks.failed_count()
            with render.progress_bar(total, label) as progress:
                result = await getattr(tasks, bulk)(where, progress=progress)
            return render.bulk_view(verb, result)
        index, job = await tasks.find_failed(*target)
        return await one(tasks, index, job)

    show(ctx, as_json, body)


@failed.command("retry")
@click.argument("ref", required=False)
@click.option("--all", "everything", is_flag=True, help="Every failed job (or all matching).")
@filter_options
@json_option
@click.pass_context
def failed_retry(
    ctx: click.Context,
    ref: str | None,
    everything: bool,
    task: str | None,
    queue_name: str | None,
    exception: str | None,
    as_json: bool,
) -> None:
    """Put failed jobs back in their queues: one (REF), --all, or those matching filters."""
    where = failed_filter(task, queue_name, exception)
    _failed_action(ctx, "retried", ref, everything, where, as_json)


@failed.command("remove")
@click.argument("ref", required=False)
@click.option("--all", "everything", is_flag=True, help="Every failed job (or all matching).")
@filter_options
@json_option
@click.pass_context
def failed_remove(
    ctx: click.Context,
    ref: str | None,
    everything: bool,
    task: str | None,
    queue_name: str | None,
    exception: str | None,
    as_json: bool,
) -> None:
    """Remove failed jobs for good: one (REF), --all, or those matching filters."""
    where = failed_filter(task, queue_name, exception)
    _failed_action(ctx, "removed", ref, everything, where, as_json)
