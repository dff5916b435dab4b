"""API tests: ``app.api.tasks`` on every backend.

The ``backend_url`` fixture runs each test once on SQLite (a fresh file) and once on the
private redis-server of ``tests/conftest.py``; ``client`` is a client application (it runs
nothing) holding the tasks of :mod:`tests.api.helpers`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from stellar import App, Task
from tests.api.helpers import TASKS
from tests.conftest import missing_service
from tests.helpers import FAST


@pytest.fixture(params=["sqlite", "redis"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tasks.db"
    try:
        from stellar.backends.redis import RedisBackend  # noqa: F401
    except ImportError as exc:
        missing_service(f"the Redis backend cannot be imported: {exc}")
    return str(request.getfixturevalue("redis_url"))


AppFactory = Callable[..., App]


@pytest.fixture
def make_app(backend_url: str, tmp_path: Path) -> AppFactory:
    """``make_app(tasks=..., **settings)``: an application on this test's backend."""

    def make(tasks: list[Task] | None = None, **kw: Any) -> App:
        options: dict[str, Any] = {"backend": backend_url, **FAST, **kw}
        return App(tmp_path, tasks=TASKS if tasks is None else tasks, env={}, **options)

    return make


@pytest.fixture
async def client(make_app: AppFactory) -> AsyncIterator[App]:
    async with make_app(processors=False, scheduler=False) as app:
        yield app


@pytest.fixture(autouse=True)
def _reset_gate() -> None:
    from tests.api.helpers import GATE

    GATE.open = True
    GATE.before.clear()
    GATE.after.clear()
