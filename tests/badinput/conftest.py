"""Bad-input tests run on every backend (``backend``: a fresh SQLite file, or the private
redis-server of ``tests/conftest.py``), and push hostile payloads the way a foreign client
would: a plain Redis client ``RPUSH``ing onto ``resque:queue:<q>``, or (SQLite)
``backend.push`` with the raw text."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from stellar.backends import Backend
from stellar.backends.sqlite import SqliteBackend
from tests.plugins.conftest import backend, redis_backend_or_skip

__all__ = ["backend"]


@pytest.fixture
async def redis_backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    store = redis_backend_or_skip(request)
    try:
        yield store
    finally:
        await store.aclose()


async def push_raw(backend: Backend, queue: str, raw: str | bytes) -> None:
    """Put ``raw`` at the tail of ``queue`` exactly as a foreign client would."""
    if isinstance(backend, SqliteBackend):
        assert isinstance(raw, str), "SQLite holds text"
        await backend.push(queue, [raw])
        return
    from redis.asyncio import Redis

    client = Redis.from_url(backend.url)
    try:
        await client.sadd(f"{backend.namespace}:queues", queue)
        await client.rpush(f"{backend.namespace}:queue:{queue}", raw)
    finally:
        await client.aclose()


async def raw_list(backend: Backend, key: str) -> list[bytes]:
    """LRANGE of a Redis list, as bytes (Redis only)."""
    from redis.asyncio import Redis

    client = Redis.from_url(backend.url)
    try:
        return list(await client.lrange(f"{backend.namespace}:{key}", 0, -1))
    finally:
        await client.aclose()
