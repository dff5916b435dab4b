"""Every example of the documentation runs, and prints what the pages say it prints.

Each example under docs/examples is run here (or, for the testing project, in
tests/testing/test_pytest_plugin.py) against an application in a temporary folder with
the SQLite backend; ``docs/examples/output/<name>.txt`` holds the output a page shows.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from stellar import App
from stellar.cli.main import cli
from stellar.config import Settings, load_settings
from stellar.testing import make_app, run_task
from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
OUTPUT = EXAMPLES / "output"
COPY_IGNORE = shutil.ignore_patterns("__pycache__", ".stellar")

# Other pages' examples, shown and tested by their authors.
OTHERS = ("management", "plugins", "backends", "guarantees", "dashboard")
# Run by other tests: the pytest project of docs/testing.md.
ELSEWHERE = {"testing/conftest.py", "testing/pytest.ini", "testing/stellar.toml",
             "testing/tests/test_orders.py", "testing/modules/shop/tasks/orders.py"}  # fmt: skip


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("STELLAR_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # keep docs/ free of __pycache__


@pytest.fixture
def app_root(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    shutil.copytree(EXAMPLES / "app", root, ignore=COPY_IGNORE)
    return root


def load(relative: str) -> ModuleType:
    path = EXAMPLES / relative
    name = "docs_example_" + re.sub(r"\W", "_", relative)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected(name: str) -> str:
    return (OUTPUT / f"{name}.txt").read_text(encoding="utf-8")


async def run_main(relative: str, *args: Any) -> None:
    result = load(relative).main(*args)
    if inspect.isawaitable(result):
        await result


# ----------------------------------------------------------------- scripts with output

SCRIPTS = [
    "task_object", "api_enqueue", "api_delayed", "api_recurrent", "api_errors", "api_details",
    "runtime_roles", "events_subscribe", "otel_setup", "configuration_overrides", "sync_script",
]  # fmt: skip


@pytest.mark.parametrize("name", SCRIPTS)
async def test_script_prints_what_its_page_shows(
    name: str, app_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if name == "sync_script":  # plain code: it must not run on this event loop's thread
        await asyncio.to_thread(load(f"{name}.py").main, app_root)
    else:
        await run_main(f"{name}.py", app_root)
    assert capsys.readouterr().out == expected(name)


async def test_getting_started(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "getting_started"
    shutil.copytree(EXAMPLES / "getting_started", root, ignore=COPY_IGNORE)
    await run_main("getting_started/main.py", root)
    assert capsys.readouterr().out == expected("getting_started_main")
    assert (root / ".stellar" / "tasks.db").exists()  # the default backend, under the root


async def test_migrating_from_celery(app_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await run_main("migrating/from_celery.py", app_root)
    assert capsys.readouterr().out == expected("migrating_from_celery")


async def test_json_logging(app_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task_log = logging.getLogger("stellar.task")
    handlers, level = list(task_log.handlers), task_log.level
    try:
        await run_main("logging_json.py", app_root)
    finally:
        task_log.handlers[:] = handlers
        task_log.setLevel(level)
    assert capsys.readouterr().out == expected("logging_json")


async def test_node_bridge(
    app_root: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await run_main("node_bridge.py", app_root, redis_url)
    assert capsys.readouterr().out == expected("node_bridge")


# ------------------------------------------------------------------ the example app


async def test_the_example_application_loads_and_its_tasks_run(app_root: Path) -> None:
    async with make_app(app_root, database=app_root / "t.db") as app:
        assert app.registry is not None
        assert [t.name for t in app.registry] == [
            "email.sendNotification", "email.sendResetPassword", "reports.build", "sayHello",
        ]  # fmt: skip
        assert app.registry.get("sayHello").frequency == 300
        assert app.registry.get("reports.build").timeout == 600
        assert len(app.registry.get("reports.build").plugins) == 2
        await run_task(app, "email.sendNotification", {"to": "a@b.c", "subject": "Hi"})
        await run_task(app, "reports.build", {"month": "2030-01"})


async def test_the_stellar_task_and_the_python_task_say_hello(tmp_path: Path) -> None:
    (tmp_path / "modules" / "greetings" / "tasks").mkdir(parents=True)
    shutil.copy(EXAMPLES / "migrating" / "say_hello.py",
                tmp_path / "modules" / "greetings" / "tasks" / "say_hello.py")  # fmt: skip
    async with make_app(tmp_path, database=tmp_path / "t.db") as app:
        assert app.registry is not None
        definition = app.registry.get("sayHello")
        assert definition.frequency == 1 and definition.queue == "default"
        assert await run_task(app, "sayHello") is None
    node_check("migrating/say_hello.js")


async def test_asgi_own_lifespan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx
    import uvicorn

    monkeypatch.setenv("STELLAR_BACKEND", f"sqlite:///{tmp_path}/tasks.db")
    caplog.set_level(logging.INFO, logger="stellar.task")
    module = load("asgi_own_lifespan.py")
    config = uvicorn.Config(module.web, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "uvicorn stopped at start-up"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        answer = await http.post("/reports/2030-01")
    assert answer.status_code == 202 and answer.json() == {"queued": "2030-01"}
    server.should_exit = True
    await serving
    client = App(module.ROOT, processors=False, scheduler=False)  # STELLAR_BACKEND: the same file
    async with client:
        assert await client.api.tasks.workers() == []  # the lifespan stopped it gracefully
        assert await client.api.tasks.leader() is None
        # the report ran once, or (if the server stopped first) is still queued: never lost
        ran = caplog.text.count("building the report for 2030-01")
        assert ran + await client.api.tasks.length("reports") == 1
        assert await client.api.tasks.failed_count() == 0


# ------------------------------------------------------------- configuration and shell


def test_the_reference_stellar_toml_states_the_true_defaults(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "stellar.toml", tmp_path / "stellar.toml")
    assert load_settings(tmp_path, {}) == Settings()


def test_the_node_bridge_configuration_is_valid(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "node_bridge.toml", tmp_path / "stellar.toml")
    settings = load_settings(tmp_path, {})
    assert settings.backend.startswith("redis://") and "*" not in settings.queues


def test_the_install_extras_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    named = re.findall(r"stellar-tasks\[(\w+)\]", (EXAMPLES / "install.sh").read_text())
    assert named and set(named) <= set(extras)


def shell_commands() -> list[list[str]]:
    lines = (EXAMPLES / "cli.sh").read_text().splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.startswith("stellar ")]


def test_the_command_line_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for argv in shell_commands():
        args = argv[1:]
        if {"run", "worker"} & set(args):
            args.append("--help")  # they run until a signal: check that the options parse
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, f"{shlex.join(argv)}\n{result.output}"
    assert (tmp_path / "shop" / "modules" / "orders" / "tasks").is_dir()


# ---------------------------------------------------------------------- JavaScript


def node_check(relative: str) -> None:
    if shutil.which("node") is None:
        missing_service("node is not installed")
    done = subprocess.run(["node", "--check", str(EXAMPLES / relative)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr


def node_resque() -> Path | None:
    for folder in (ROOT / "tests" / "interop" / "node_modules", ROOT / "node_modules"):
        if (folder / "node-resque").is_dir():
            return folder
    return None


async def test_the_node_worker(app_root: Path, redis_url: str) -> None:
    node_check("node_worker.js")
    modules = node_resque()
    if modules is None:
        missing_service("node-resque is not installed (tests/interop): only its syntax was checked")
    module = load("node_bridge.py")
    async with App(app_root, tasks=[module.send_email], backend=redis_url, env={},
                   processors=False, scheduler=False) as app:  # fmt: skip
        await app.api.tasks.enqueue("sendEmail", {"to": "ada@example.com"})
        port = redis_url.rsplit(":", 1)[1].split("/")[0]
        done = await asyncio.to_thread(
            subprocess.run, ["node", str(EXAMPLES / "node_worker.js")],
            env=os.environ | {"NODE_PATH": str(modules), "REDIS_PORT": port},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "sending to ada@example.com" in done.stdout
        [job] = await app.api.tasks.queued("reports")
        assert (job.task, job.params) == ("reports.build", {"month": "2030-01"})


# ------------------------------------------------------------------ nothing forgotten


def included_files() -> Iterator[str]:
    for page in DOCS.glob("*.md"):
        for match in re.finditer(r'--8<-- "([^":]+)(?::[\w-]+)?"', page.read_text()):
            yield match.group(1)


def test_every_example_is_shown_and_run() -> None:
    files = {
        str(p.relative_to(EXAMPLES))
        for p in EXAMPLES.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and ".stellar" not in p.parts
        and not p.name.startswith(OTHERS)
    }
    shown = set(included_files())
    supporting = {f for f in files if f.endswith("stellar.toml") and "/" in f}
    assert files - shown - supporting == set(), "examples no page includes"
    run_here = (
        {f"{name}.py" for name in SCRIPTS}
        | {f"output/{name}.txt" for name in SCRIPTS}
        | {
            "getting_started/main.py", "output/getting_started_main.txt",
            "getting_started/modules/email/tasks/reset_password.py",
            "migrating/from_celery.py", "output/migrating_from_celery.txt",
            "migrating/say_hello.py", "migrating/say_hello.js",
            "logging_json.py", "output/logging_json.txt",
            "node_bridge.py", "output/node_bridge.txt", "node_worker.js", "node_bridge.toml",
            "asgi_own_lifespan.py", "stellar.toml", "install.sh", "cli.sh",
        }
        | {f for f in files if f.startswith("app/")}
    )  # fmt: skip
    assert files - run_here - ELSEWHERE - supporting == set(), "examples no test runs"
