"""examples/wsgi: a Flask application using stellar through SyncApp."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType

import pytest

from stellar.sync import SyncApp

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wsgi"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wsgi_example", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_for(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_flask_routes_enqueue_and_manage_through_sync_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STELLAR_BACKEND", f"sqlite:///{tmp_path}/tasks.db")
    monkeypatch.setenv("OUTBOX", str(tmp_path / "outbox.txt"))
    example = load_example()
    with SyncApp(example.HERE) as stellar:
        http = example.create_app(stellar).test_client()
        answer = http.post("/signup", json={"email": "ada@example.com"})
        assert answer.status_code == 202 and answer.json == {"welcome": "queued"}
        http.post("/signup", json={"email": "nobody"})

        def both_done() -> bool:
            body = http.get("/stats").json
            return body["stats"].get("processed", 0) + body["failed"] == 2

        wait_for(both_done)
        assert http.get("/failed").json == [
            {"task": "accounts.sendWelcome", "error": "ValueError: not an email address: 'nobody'"}
        ]
        assert http.post("/failed/clear").json == {"removed": 1}
        assert http.get("/stats").json["failed"] == 0
    assert (tmp_path / "outbox.txt").read_text().split()[1:] == ["welcome", "ada@example.com"]
    assert not stellar.running
