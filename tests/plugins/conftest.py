"""Plugin tests run on every backend: ``backend`` is a fresh SQLite file or the private
redis-server of ``tests/conftest.py`` (flushed per test). Under ``CI=true`` a Redis
backend that cannot be imported fails the test instead of skipping it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stellar.backends import Backend, open_backend
from stellar.backends.sqlite import SqliteBackend
from tests.conftest import missing_service


def redis_backend_or_skip(request: pytest.FixtureRequest) -> Backend:
    try:
        from stellar.backends.redis import RedisBackend  # noqa: F401
    except ImportError as exc:
        missing_service(f"the Redis backend cannot be imported: {exc}")
    return open_backend(request.getfixturevalue("redis_url"), namespace="resque")


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    store: Backend
    if request.param == "sqlite":
        store = SqliteBackend(f"sqlite:///{tmp_path}/tasks.db", namespace="resque")
    else:
        store = redis_backend_or_skip(request)
    try:
        yield store
    finally:
        await store.aclose()
