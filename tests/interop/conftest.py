"""Fixtures of the interop tests: the real node-resque 9 (pinned in ``package.json``) and
our App, on the private redis-server of ``tests/conftest.py`` (flushed per test).

node-resque is installed by ``npm ci`` in this folder (``scripts/services`` does it).
Without node or without the package the tests are skipped on a developer machine and
fail under ``CI=true``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from stellar import App, Task
from tests.conftest import missing_service
from tests.helpers import FAST
from tests.interop.node import NODE_RESQUE, Node


@pytest.fixture(scope="session")
def node_exe() -> str:
    node = shutil.which("node")
    if node is None:
        missing_service("node is not installed: the interop tests run node-resque")
    assert node is not None
    if not NODE_RESQUE.exists():
        missing_service(
            "node-resque is not installed: run `npm ci` in tests/interop (scripts/services)"
        )
    version = json.loads(NODE_RESQUE.read_text())["version"]
    if not version.startswith("9."):
        pytest.fail(f"tests/interop pins node-resque 9.x, found {version}: run `npm ci` there")
    return node


@pytest.fixture
async def node(node_exe: str, redis_url: str) -> AsyncIterator[Node]:
    """node-resque on the test's (emptied) private Redis, namespace ``resque``."""
    runner = Node(node_exe, redis_url)
    try:
        yield runner
    finally:
        await runner.close()


@pytest.fixture
def make_app(tmp_path: Path, redis_url: str) -> Callable[..., App]:
    """``make_app(tasks, **settings)``: an App on the same Redis, fast loop settings."""

    def make(tasks: list[Task], **settings: Any) -> App:
        options: dict[str, Any] = {"backend": redis_url, "namespace": "resque", **FAST}
        options.update(settings)
        return App(tmp_path, tasks=tasks, env={}, **options)

    return make
