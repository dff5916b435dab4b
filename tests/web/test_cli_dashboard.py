"""`stellar dashboard` and `stellar run --dashboard`: binding, credentials, serving."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import click
import httpx
import pytest
from click.testing import CliRunner

from stellar.cli.dashboard import DashboardOptions, from_environment, parse_bind
from stellar.cli.main import cli


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8790", ("127.0.0.1", 8790)), ("0.0.0.0:80", ("0.0.0.0", 80)),
     ("localhost:0", ("localhost", 0)), ("[::1]:9000", ("::1", 9000))],
)  # fmt: skip
def test_parse_bind(text: str, expected: tuple[str, int]) -> None:
    assert parse_bind(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "host:", ":80", "[::1]9000", "1.2.3.4:x"])
def test_parse_bind_refuses_garbage(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_bind(text)


def test_a_public_address_needs_credentials() -> None:
    with pytest.raises(click.UsageError, match="without credentials"):
        DashboardOptions(host="0.0.0.0").check()
    DashboardOptions(host="0.0.0.0", token="t").check()
    DashboardOptions(host="127.0.0.1").check()
    with pytest.raises(click.UsageError, match="together"):
        DashboardOptions(username="u").check()


def test_credentials_come_from_the_environment() -> None:
    env = {"STELLAR_DASHBOARD_TOKEN": "tok", "STELLAR_DASHBOARD_USERNAME": ""}
    options = from_environment("127.0.0.1", 1, env)
    assert (options.token, options.username, options.password) == ("tok", None, None)


def test_the_commands_refuse_a_public_address_without_credentials(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"STELLAR_DASHBOARD_TOKEN": ""}
    result = runner.invoke(cli, ["--app", str(tmp_path), "dashboard", "--host", "0.0.0.0"], env=env)
    assert result.exit_code == 2 and "without credentials" in result.output
    result = runner.invoke(
        cli, ["--app", str(tmp_path), "run", "--dashboard", "0.0.0.0:0"], env=env
    )
    assert result.exit_code == 2 and "without credentials" in result.output
    result = runner.invoke(cli, ["--app", str(tmp_path), "run", "--dashboard", "nope"], env=env)
    assert result.exit_code == 2 and "expected PORT or HOST:PORT" in result.output


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
    """Start `stellar ... args`, use the dashboard it prints, stop it with SIGINT."""
    (tmp_path / "stellar.toml").write_text(
        f'[tasks]\nbackend = "sqlite:///{tmp_path}/tasks.db"\n', encoding="utf-8"
    )
    command = [sys.executable, "-m", "stellar.cli", "--app", str(tmp_path), *args]
    environment = {**os.environ, **(env or {})}
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment) as process:
        try:
            assert process.stderr is not None
            url = wait_for_url(process.stderr)
            response = httpx.get(url + "api/overview", timeout=5)
            assert response.status_code == 200 and response.json()["totals"]["queued"] == 0
            if env and env.get("STELLAR_DASHBOARD_TOKEN"):
                bearer = {"Authorization": f"Bearer {env['STELLAR_DASHBOARD_TOKEN']}"}
                r = httpx.post(url + "api/locks/delete", json={"name": "lock:x"}, headers=bearer)
                assert r.status_code == 404  # authenticated; there is no such lock
            process.send_signal(signal.SIGINT)
            assert process.wait(20) == 0
        finally:
            if process.poll() is None:
                process.kill()


def wait_for_url(stderr: IO[str]) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = stderr.readline()
        assert line, "the command ended before serving"
        match = re.search(r"dashboard at (http://\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError("the dashboard did not start")


def test_stellar_dashboard_serves_and_stops_on_sigint(tmp_path: Path) -> None:
    serve(tmp_path, "dashboard", "--port", "0", env={"STELLAR_DASHBOARD_TOKEN": "s3cret"})


def test_stellar_run_serves_a_dashboard_beside_the_processors(tmp_path: Path) -> None:
    serve(tmp_path, "run", "--dashboard", "127.0.0.1:0")


def test_a_busy_port_is_one_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["--app", str(tmp_path), "dashboard", "--port", str(port)], env={}
        )
    assert result.exit_code == 1 and "cannot listen on 127.0.0.1" in result.output
