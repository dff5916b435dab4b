"""Fixtures of the Redis backend tests: a backend and a raw client on the private server
of ``tests/conftest.py`` (flushed per test), and spare servers a test may stop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from stellar.backends.redis import RedisBackend
from stellar.backends.redis.scripts import ScriptSet, load_scripts


@pytest.fixture
async def backend(redis_url: str) -> AsyncIterator[RedisBackend]:
    store = RedisBackend(redis_url)
    try:
        yield store
    finally:
        await store.aclose()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client on the same server, to look at (or forge) what Resque clients see."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def scripts() -> ScriptSet:
    return load_scripts()


@pytest.fixture
def spare_server(redis_server: Any, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start extra redis-servers (same class as the session one); all stopped at the end.

    ``spare_server(*extra_args, port=None)`` returns the started server.
    """
    server_class = type(redis_server)  # tests/conftest.py's RedisServer
    started: list[Any] = []

    def start(*extra: str, port: int | None = None) -> Any:
        directory = tmp_path / f"redis-{len(started)}"
        directory.mkdir()
        server = server_class(directory, port, *extra)
        started.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
