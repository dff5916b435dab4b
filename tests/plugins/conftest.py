"""Plugin tests run on every backend: ``backend`` is a fresh SQLite file or the private
redis-server of ``tests/conftest.py`` (flushed per test). Under ``CI=true`` a Redis
backend that cannot be imported fails the test instead of skipping it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stellar.backends import Backend, open_backend
from stellar.backends.sqlite import SqliteBackend

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def redis_backend_or_skip(request: pytest.FixtureRequest) -> Backend:
    try:
        from stellar.backends.redis import RedisBackend  # noqa: F401
    except ImportError as exc:
        reason = f"the Redis backend cannot be imported: {exc}"
        if CI:
            pytest.fail(f"required under CI: {reason}")
        pytest.skip(reason)
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
