"""``stellar``: run applications and workers, enqueue tasks, scaffold files.

Each command parses its options, builds an :class:`~stellar.app.App` and calls the API;
errors print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from stellar.app import App
from stellar.cli import scaffold
from stellar.errors import InvalidTime, StellarError

T = TypeVar("T")
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """The one place ``asyncio.run`` is called; every error becomes one clear line."""
    try:
        return asyncio.run(factory())
    except StellarError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:  # pragma: no cover - signal handlers normally catch it
        raise SystemExit(130) from None


def app_root(ctx: click.Context) -> Path:
    return Path(ctx.obj["app"])


def client(ctx: click.Context) -> App:
    return App(app_root(ctx), processors=False, scheduler=False)


def with_client(
    body: Callable[[App], Awaitable[T]],
) -> Callable[[click.Context], T]:
    """Run ``body(app)`` inside a client application."""

    def call(ctx: click.Context) -> T:
        async def main() -> T:
            async with client(ctx) as app:
                return await body(app)

        return run_async(main)

    return call


def parse_when(text: str) -> float | datetime:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTime(
            f"--at {text!r}: expected unix seconds or an ISO 8601 time with a zone, "
            "e.g. 2030-01-01T09:00:00+00:00"
        ) from None
    return when


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--app", "app", default=".", envvar="STELLAR_APP", show_default=True,
    type=click.Path(file_okay=False), help="Root folder of the application.",
)  # fmt: skip
@click.option(
    "--log-level", default="INFO", show_default=True, envvar="STELLAR_LOG_LEVEL",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)  # fmt: skip
@click.version_option(package_name="stellar-tasks")
@click.pass_context
def cli(ctx: click.Context, app: str, log_level: str) -> None:
    """Stellar tasks: normal, delayed and periodic background tasks."""
    ctx.ensure_object(dict)
    ctx.obj["app"] = app
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create a new application in DIRECTORY (config plus an example task)."""
    try:
        written = scaffold.init(Path(directory))
    except StellarError as exc:
        raise click.ClickException(str(exc)) from None
    for path in written:
        click.echo(f"created {path}")
    click.echo(f"run it with: stellar --app {directory} run")


@cli.command("make-task")
@click.argument("name")
@click.option("--module", "-m", required=True, help="Module (folder under modules/).")
@click.option("--queue", default="default", show_default=True)
@click.option("--frequency", type=float, default=0, help="Seconds; > 0 makes it periodic.")
@click.option("--description", default="Change this to describe your task")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_context
def make_task(
    ctx: click.Context,
    name: str,
    module: str,
    queue: str,
    frequency: float,
    description: str,
    force: bool,
) -> None:
    """Generate a task file modules/MODULE/tasks/NAME.py."""
    try:
        path = scaffold.make_task(
            app_root(ctx), name, module=module, queue=queue, frequency=frequency,
            description=description, force=force,
        )  # fmt: skip
    except StellarError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f'created {path}: task "{name}"')


cli.add_command(make_task, "makeTask")


async def serve(app: App) -> None:
    async with app:
        await app.serve()


@cli.command()
@click.option("--queues", help="Comma-separated queues, in priority order (default: config).")
@click.option("--min", "min_processors", type=int, help="Minimum task processors.")
@click.option("--max", "max_processors", type=int, help="Maximum task processors.")
@click.option("--no-scheduler", is_flag=True, help="Do not run the scheduler here.")
@click.option(
    "--dashboard", "dashboard_at", metavar="[HOST:]PORT",
    help="Also serve the web dashboard (host 127.0.0.1 by default; credentials from "
    "STELLAR_DASHBOARD_TOKEN or STELLAR_DASHBOARD_USERNAME/_PASSWORD).",
)  # fmt: skip
@click.pass_context
def run(
    ctx: click.Context,
    queues: str | None,
    min_processors: int | None,
    max_processors: int | None,
    no_scheduler: bool,
    dashboard_at: str | None,
) -> None:
    """Run the application: task processors and scheduler in this process."""
    app = App(
        app_root(ctx), scheduler=False if no_scheduler else None,
        queues=queues.split(",") if queues else None,
        min_processors=min_processors, max_processors=max_processors,
    )  # fmt: skip
    if dashboard_at is None:
        run_async(lambda: serve(app))
        return
    from stellar.cli.dashboard import dashboard_runner, from_environment, parse_bind

    run_async(dashboard_runner(app, from_environment(*parse_bind(dashboard_at))))


@cli.command()
@click.option("--queues", help="Comma-separated queues, in priority order (default: config).")
@click.option("--min", "min_processors", type=int, help="Minimum task processors.")
@click.option("--max", "max_processors", type=int, help="Maximum task processors.")
@click.pass_context
def worker(
    ctx: click.Context, queues: str | None, min_processors: int | None, max_processors: int | None
) -> None:
    """Run task processors only (no scheduler), e.g. on extra hosts."""
    app = App(
        app_root(ctx), scheduler=False, queues=queues.split(",") if queues else None,
        min_processors=min_processors, max_processors=max_processors,
    )  # fmt: skip
    run_async(lambda: serve(app))


@cli.command()
@click.argument("task")
@click.option("--params", default="{}", show_default=True, help="Params as JSON.")
@click.option("--queue", help="Queue (default: the task's).")
@click.option("--at", "at", help="Run at this time (unix seconds or ISO 8601 with zone).")
@click.option("--in", "delay", type=float, help="Run after this many seconds.")
@click.pass_context
def enqueue(
    ctx: click.Context,
    task: str,
    params: str,
    queue: str | None,
    at: str | None,
    delay: float | None,
) -> None:
    """Enqueue TASK now, at a time, or after a delay."""
    if at is not None and delay is not None:
        raise click.UsageError("give --at or --in, not both")
    try:
        value = json.loads(params)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--params is not valid JSON: {exc}") from None

    async def body(app: App) -> str:
        tasks = app.api.tasks
        if at is not None:
            when = await tasks.enqueue_at(parse_when(at), task, value, queue=queue)
            return f"{task} delayed until {when.isoformat()}"
        if delay is not None:
            when = await tasks.enqueue_in(delay, task, value, queue=queue)
            return f"{task} delayed until {when.isoformat()}"
        if await tasks.enqueue(task, value, queue=queue):
            return f"{task} enqueued"
        return f"{task} not enqueued: a plugin vetoed it"

    click.echo(with_client(body)(ctx))


def main() -> None:
    cli(prog_name="stellar")


import stellar.cli.dashboard  # noqa: E402, F401  (registers `stellar dashboard`)
from stellar.cli import manage  # noqa: E402, F401  (registers the management commands)
