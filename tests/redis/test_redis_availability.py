"""A Redis that goes away: a clear BackendUnavailable, and recovery without a new backend."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from stellar.backends.redis import RedisBackend
from stellar.codec import encode_job
from stellar.errors import BackendUnavailable

P = encode_job("t", "q", [{}])


async def test_unavailable_then_recovered_on_the_same_port(spare_server: Any) -> None:
    server = spare_server()
    store = RedisBackend(server.url)
    try:
        await store.push("q", [P])
        await store.register_worker("host:1+1", "q", 1.0)
        server.stop()

        for call in (
            store.check(),
            store.push("q", [P]),  # a script
            store.length("q"),  # a plain command
            store.worker_records(),  # a pipeline
            store.stats(),  # a SCAN
        ):
            with pytest.raises(BackendUnavailable) as caught:
                await call
            message = str(caught.value)
            assert message.startswith(f"redis at 127.0.0.1:{server.port} is unreachable: ")

        server.start()  # same port, empty (no persistence), no scripts loaded
        await store.check()
        await store.push("q", [P])
        assert await store.queued("q") == [P]
        assert await store.push_delayed(P, 10.5)
        assert await store.promote_due(11) == 1
    finally:
        await store.aclose()


async def test_pooled_connections_recover_after_a_restart(spare_server: Any) -> None:
    server = spare_server()
    store = RedisBackend(server.url)
    try:
        # several pooled connections, all idle when the server goes away
        await asyncio.gather(*(store.push("q", [P]) for _ in range(20)))
        server.stop()
        await asyncio.sleep(0.2)  # the loop sees the connections close
        server.start()
        results = await asyncio.gather(*(store.length("q") for _ in range(20)))
        assert results == [0] * 20
    finally:
        await store.aclose()


async def test_nothing_listening(spare_server: Any) -> None:
    server = spare_server()
    server.stop()
    store = RedisBackend(server.url)
    try:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="is unreachable"):
            await store.claim(["q"], "host:1+1", "q", 1.0)
        assert time.monotonic() - started < 3  # no hidden retries with back-off
    finally:
        await store.aclose()


async def test_a_busy_server_is_unavailable(spare_server: Any) -> None:
    """BUSY (a long script elsewhere) is passing: unavailable, then fine again."""
    server = spare_server()
    store = RedisBackend(server.url)
    admin, killer = Redis(port=server.port), Redis(port=server.port)
    try:
        await store.push("q", [P])
        await admin.config_set("busy-reply-threshold", 50)
        blocker = asyncio.create_task(admin.eval("while true do end", 0))
        await asyncio.sleep(0.3)
        with pytest.raises(BackendUnavailable, match="BUSY"):
            await store.length("q")
        await killer.script_kill()
        with pytest.raises(Exception, match="killed"):
            await blocker
        assert await store.length("q") == 1
    finally:
        await store.aclose()
        await admin.aclose()
        await killer.aclose()
