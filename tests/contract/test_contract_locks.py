"""Locks with expiry and the scheduler's leader lock."""

from __future__ import annotations

import asyncio

from stellar.backends import Backend

KEY = 'lock:t:q:[{"a":1}]'
WORKERS_KEY = "workerslock:t:q:[{}]"


async def test_acquire_lock_sets_only_when_absent(backend: Backend) -> None:
    assert await backend.get_lock(KEY) is None
    assert await backend.acquire_lock(KEY, "1500", 60) is True
    assert await backend.acquire_lock(KEY, "1600", 60) is False
    assert await backend.get_lock(KEY) == "1500"


async def test_locks_lists_lock_and_workerslock_keys_only(backend: Backend) -> None:
    assert await backend.locks() == {}
    await backend.acquire_lock(KEY, "1", 60)
    await backend.set_lock(WORKERS_KEY, "2", 60)
    await backend.set_lock("resque-retry:t:x", "3", 60)
    await backend.acquire_leader("sched", 60)
    assert await backend.locks() == {KEY: "1", WORKERS_KEY: "2"}
    assert await backend.get_lock("resque-retry:t:x") == "3"


async def test_set_lock_overwrites(backend: Backend) -> None:
    await backend.acquire_lock(KEY, "old", 60)
    await backend.set_lock(KEY, "new", 60)
    assert await backend.get_lock(KEY) == "new"
    assert await backend.acquire_lock(KEY, "other", 60) is False


async def test_delete_lock(backend: Backend) -> None:
    await backend.acquire_lock(KEY, "1", 60)
    assert await backend.delete_lock(KEY) is True
    assert await backend.get_lock(KEY) is None
    assert await backend.delete_lock(KEY) is False
    assert await backend.acquire_lock(KEY, "2", 60) is True


async def test_locks_expire(backend: Backend) -> None:
    assert await backend.acquire_lock(KEY, "short", 0.2)
    await backend.set_lock(WORKERS_KEY, "short", 0.2)
    await backend.acquire_lock("lock:long", "long", 60)
    assert await backend.get_lock(KEY) == "short"
    await asyncio.sleep(0.3)
    assert await backend.get_lock(KEY) is None
    assert await backend.locks() == {"lock:long": "long"}
    assert await backend.delete_lock(WORKERS_KEY) is False
    assert await backend.acquire_lock(KEY, "again", 60) is True
    assert await backend.get_lock(KEY) == "again"


async def test_leader_acquire_renew_refuse_release(backend: Backend) -> None:
    assert await backend.leader() is None
    assert await backend.acquire_leader("a", 60) is True
    assert await backend.leader() == "a"
    assert await backend.acquire_leader("a", 60) is True
    assert await backend.acquire_leader("b", 60) is False
    assert await backend.leader() == "a"
    assert await backend.release_leader("b") is False
    assert await backend.leader() == "a"
    assert await backend.release_leader("a") is True
    assert await backend.leader() is None
    assert await backend.release_leader("a") is False
    assert await backend.acquire_leader("b", 60) is True
    assert await backend.leader() == "b"


async def test_leader_lock_expires(backend: Backend) -> None:
    assert await backend.acquire_leader("a", 0.2)
    await asyncio.sleep(0.3)
    assert await backend.leader() is None
    assert await backend.release_leader("a") is False
    assert await backend.acquire_leader("b", 60) is True
    assert await backend.leader() == "b"


async def test_leader_renewal_extends_the_lock(backend: Backend) -> None:
    assert await backend.acquire_leader("a", 0.3)
    await asyncio.sleep(0.15)
    assert await backend.acquire_leader("a", 0.3)
    await asyncio.sleep(0.2)  # 0.35 s after the first acquire, 0.2 s after the renewal
    assert await backend.leader() == "a"
    assert await backend.acquire_leader("b", 60) is False
