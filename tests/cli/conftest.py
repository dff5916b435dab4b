"""CLI tests: a real application on disk (stellar.toml, task files, an SQLite file), driven
through click's test runner; the state is set up and checked through ``api.tasks``."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from stellar import App, Tasks
from stellar.backends import Backend
from stellar.cli.main import cli

T = TypeVar("T")

TASK_FILE = """
from stellar import Plugin, task


class Never(Plugin):
    async def before_enqueue(self, ctx):
        return False


@task(name="mail.never", description="Vetoed by its plugin", plugins=[Never()])
async def never(api, params):
    pass


@task(name="mail.send", description="Send a mail")
async def send(api, params):
    pass


@task(name="mail.digest", description="Daily digest", queue="slow", frequency=3600)
async def digest(api, params):
    pass


@task(name="report.build", description="Build a report", queue="reports")
def build(api, params):
    pass
"""


@dataclass
class Application:
    """An application folder and ways to drive it."""

    root: Path

    def run(self, *args: str) -> Result:
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("STELLAR_")}
        runner = CliRunner(env=env)
        return runner.invoke(cli, ["--app", str(self.root), *args], catch_exceptions=False)

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; its stdout."""
        result = self.run(*args)
        assert result.exit_code == 0, (result.exit_code, result.output)
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def error(self, *args: str, code: int = 1) -> str:
        """Run a command that must fail with ``code``: its one error line."""
        result = self.run(*args)
        assert result.exit_code == code, (result.exit_code, result.output)
        assert "Traceback" not in result.output
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("Error: "), result.stderr
        return line

    def state(self, body: Callable[[Tasks, Backend], Awaitable[T]]) -> T:
        """Run ``body(api.tasks, backend)`` in a client application on the same files."""

        async def main() -> T:
            async with App(self.root, processors=False, scheduler=False, env={}) as app:
                assert app.backend is not None
                return await body(app.api.tasks, app.backend)

        return asyncio.run(main())


@pytest.fixture
def app(tmp_path: Path) -> Application:
    root = tmp_path / "app"
    (root / "modules/mail/tasks").mkdir(parents=True)
    (root / "stellar.toml").write_text(
        textwrap.dedent(
            """\
            [tasks]
            backend = "sqlite:///.stellar/tasks.db"
            """
        )
    )
    (root / "modules/mail/tasks/mail.py").write_text(TASK_FILE)
    return Application(root)
