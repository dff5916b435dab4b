"""The command line: scaffolding, enqueue, errors as one clear line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stellar import App
from stellar.cli.main import cli
from stellar.tasks.loader import load_tasks


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_init_creates_an_application_that_loads(tmp_path: Path) -> None:
    code, out = invoke("init", str(tmp_path / "app"))
    assert code == 0, out
    assert "created" in out and "stellar.toml" in out
    registry = load_tasks(tmp_path / "app")
    assert [t.name for t in registry] == ["example.hello"]
    assert registry.get("example.hello").periodic
    code, out = invoke("init", str(tmp_path / "app"))
    assert code == 1 and "already exists" in out


def test_make_task_generates_a_valid_non_periodic_task(tmp_path: Path) -> None:
    code, out = invoke(
        "--app", str(tmp_path), "make-task", "auth.sessionValidation", "--module", "auth"
    )
    assert code == 0, out
    path = tmp_path / "modules/auth/tasks/session_validation.py"
    assert path.exists()
    definition = load_tasks(tmp_path).get("auth.sessionValidation")
    assert not definition.periodic and definition.queue == "default"
    code, out = invoke("--app", str(tmp_path), "make-task", "auth.sessionValidation", "-m", "auth")
    assert code == 1 and "already exists (use --force" in out
    code, out = invoke("--app", str(tmp_path), "makeTask", "auth.sessionValidation", "-m", "auth",
                       "--force", "--frequency", "30")  # fmt: skip
    assert code == 0, out
    assert load_tasks(tmp_path).get("auth.sessionValidation").frequency == 30


async def test_generated_task_runs(tmp_path: Path) -> None:
    invoke("--app", str(tmp_path), "make-task", "mail.welcome", "--module", "mail")
    async with App(tmp_path, env={}, poll_interval=0.02, check_interval=0.02) as app:
        await app.api.tasks.enqueue("mail.welcome", {"to": "x"})
        for _ in range(200):
            if (await app.api.tasks.stats()).get("processed") == 1:
                break
            await asyncio.sleep(0.02)
        assert (await app.api.tasks.stats())["processed"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enqueue", "nope"], "Error: unknown task 'nope'"),
        (["enqueue", "mail.welcome", "--params", "{bad"], "Error: --params is not valid JSON"),
        (
            ["enqueue", "mail.welcome", "--at", "tomorrow"],
            "Error: --at 'tomorrow': expected unix seconds",
        ),
        (["enqueue", "mail.welcome", "--at", "2030-01-01T00:00:00"], "Error: naive datetime"),
        (["make-task", "x", "--module", "../evil"], "Error: invalid module name"),
    ],
)
def test_errors_are_one_clear_line_and_non_zero(
    tmp_path: Path, args: list[str], message: str
) -> None:
    invoke("--app", str(tmp_path), "make-task", "mail.welcome", "--module", "mail")
    code, out = invoke("--app", str(tmp_path), *args)
    assert code != 0
    assert out.strip().splitlines()[-1].startswith(message), out
    assert "Traceback" not in out


def test_enqueue_now_at_and_in(tmp_path: Path) -> None:
    invoke("--app", str(tmp_path), "make-task", "mail.welcome", "--module", "mail")
    assert invoke("--app", str(tmp_path), "enqueue", "mail.welcome", "--params", json.dumps({"a": 1})) == (
        0, "mail.welcome enqueued\n")  # fmt: skip
    code, out = invoke("--app", str(tmp_path), "enqueue", "mail.welcome", "--in", "60")
    assert code == 0 and "delayed until" in out
    code, out = invoke(
        "--app", str(tmp_path), "enqueue", "mail.welcome", "--at", "2030-01-01T00:00:00+00:00"
    )
    assert code == 0 and "2030-01-01T00:00:00+00:00" in out

    async def check() -> None:
        async with App(tmp_path, processors=False, scheduler=False, env={}) as app:
            assert [j.params for j in await app.api.tasks.queued("default")] == [{"a": 1}]
            assert len(await app.api.tasks.timestamps()) == 2

    asyncio.run(check())


def test_help_is_useful() -> None:
    code, out = invoke("--help")
    assert code == 0
    for command in ("init", "make-task", "run", "worker", "enqueue"):
        assert command in out
    code, out = invoke("enqueue", "--help")
    assert "--params" in out and "--at" in out and "--in" in out
