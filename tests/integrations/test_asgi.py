"""examples/asgi under a real uvicorn server, driven over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stellar import App
from tests.helpers import eventually

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asgi"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = tmp_path / "tasks.db"
        self.outbox = tmp_path / "outbox.txt"
        self.log = (tmp_path / "server.log").open("w+")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STELLAR_")}
        env.update(
            STELLAR_BACKEND=f"sqlite:///{self.database}", STELLAR_SCHEDULER_INTERVAL="0.05",
            OUTBOX=str(self.outbox),
        )  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "main:web", "--app-dir", str(EXAMPLE),
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "info"],
            cwd=tmp_path, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"uvicorn exited early:\n{self.output()}")
            try:
                httpx.get(f"{self.url}/stats", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        pytest.fail(f"uvicorn did not answer within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    try:
        server.wait_ready()
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(10)
        server.log.close()


async def test_routes_enqueue_and_the_lifespan_runs_the_tasks(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        answer = await http.post("/signup", params={"remind_in": 0.3},
                                 json={"email": "ada@example.com"})  # fmt: skip
        assert answer.status_code == 202, answer.text
        assert answer.json()["welcome"] == "queued"
        await http.post("/signup", json={"email": "not-an-email"})

        async def settled() -> dict[str, Any] | None:
            body: dict[str, Any] = (await http.get("/stats")).json()
            return body if body["stats"].get("processed", 0) >= 2 else None

        body = await eventually(settled, timeout=15)

    assert body["failed"] == ["ValueError: not an email address: 'not-an-email'"]
    assert body["leader"] is not None  # the scheduler runs in the server's process
    lines = server.outbox.read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "welcome ada@example.com",
        "reminder ada@example.com",  # the delayed task, moved by the scheduler
    ]
    # one reminder (for the bad address) is still delayed by an hour
    assert body["delayed"] == 1

    # uvicorn re-raises SIGTERM once its graceful shutdown is complete
    assert server.stop() in (0, -signal.SIGTERM), server.output()
    assert "Application shutdown complete." in server.output()
    # the lifespan shut stellar down gracefully: workers gone, leader lock released
    client = App(EXAMPLE, processors=False, scheduler=False, env={},
                 backend=f"sqlite:///{server.database}")  # fmt: skip
    async with client:
        assert await client.api.tasks.workers() == []
        assert await client.api.tasks.leader() is None


async def test_the_lifespan_helper_starts_stops_and_shares_the_app(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from stellar.integrations.asgi import lifespan

    web = SimpleNamespace(state=SimpleNamespace())
    app = App(tmp_path, env={}, backend=f"sqlite:///{tmp_path}/t.db", scheduler=False)
    async with lifespan(app)(web) as state:
        assert state == {"stellar": app}
        assert web.state.stellar is app
        assert app.pool is not None  # processors run while the server does
    assert app.pool is None
    # the root-and-options form builds the App itself; an App takes no options
    async with lifespan(tmp_path, env={}, processors=False, scheduler=False)(object()) as state:
        assert state["stellar"].pool is None and state["stellar"].root == app.root
    with pytest.raises(TypeError, match="takes no options"):
        lifespan(app, processors=False)
