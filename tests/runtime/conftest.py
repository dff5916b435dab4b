"""The backend the runtime tests run on: a SQLite file and a private Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stellar.backends import Backend
from stellar.backends.sqlite import SqliteBackend
from tests.plugins.conftest import redis_backend_or_skip


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    store: Backend
    if request.param == "sqlite":
        store = SqliteBackend(f"sqlite:///{tmp_path}/tasks.db")
    else:
        store = redis_backend_or_skip(request)
    try:
        yield store
    finally:
        await store.aclose()
