"""The ``backend`` fixture: every contract test runs once per storage backend.

* ``sqlite``: a :class:`~stellar.backends.sqlite.SqliteBackend` on a fresh file.
* ``redis``: ``open_backend`` on the private redis-server of ``tests/conftest.py``.
  When the Redis backend cannot be imported the case is skipped on a developer machine
  and fails under ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stellar.backends import Backend, open_backend
from stellar.backends.sqlite import SqliteBackend

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _redis_backend_missing(exc: ImportError) -> None:
    reason = f"the Redis backend cannot be imported: {exc}"
    if CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    store: Backend
    if request.param == "sqlite":
        store = SqliteBackend(f"sqlite:///{tmp_path}/tasks.db", namespace="resque")
    else:
        try:
            from stellar.backends.redis import RedisBackend  # noqa: F401
        except ImportError as exc:
            _redis_backend_missing(exc)
        store = open_backend(request.getfixturevalue("redis_url"), namespace="resque")
    try:
        yield store
    finally:
        await store.aclose()
