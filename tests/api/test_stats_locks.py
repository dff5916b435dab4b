"""Stats, locks and delete_lock."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from stellar import App
from stellar.backends import Backend
from tests.api.helpers import failure_record


def store(app: App) -> Backend:
    assert app.backend is not None
    return app.backend


async def test_stats_are_integers_by_counter_name(client: App) -> None:
    tasks = client.api.tasks
    assert await tasks.stats() == {}
    backend = store(client)
    await backend.finish("h:1+1", "*")
    await backend.finish("h:1+1", "*")
    await backend.finish("h:1+2", "*", failure=failure_record())
    assert await tasks.stats() == {
        "processed": 2,
        "processed:h:1+1": 2,
        "failed": 1,
        "failed:h:1+2": 1,
    }


async def test_locks_lists_plugin_locks_with_their_expiry(client: App) -> None:
    tasks = client.api.tasks
    backend = store(client)
    assert await tasks.locks() == {}
    expiry = int(time.time()) + 3601
    await backend.acquire_lock('lock:t.echo:default:[{"a":1}]', str(expiry), 3600)
    await backend.acquire_lock("workerslock:t.echo:default:[{}]", str(expiry + 5), 3600)
    await backend.acquire_lock("lock:odd", "not a number", 3600)
    await backend.acquire_leader("sched:1", 30)  # not a plugin lock
    assert await tasks.locks() == {
        'lock:t.echo:default:[{"a":1}]': datetime.fromtimestamp(expiry, UTC),
        "lock:odd": datetime.fromtimestamp(0, UTC),
        "workerslock:t.echo:default:[{}]": datetime.fromtimestamp(expiry + 5, UTC),
    }


async def test_delete_lock_is_false_when_there_is_no_such_lock(client: App) -> None:
    tasks = client.api.tasks
    backend = store(client)
    name = 'lock:t.echo:default:[{"a":1}]'
    await backend.acquire_lock(name, "1", 3600)
    await backend.acquire_leader("sched:1", 30)
    await tasks.enqueue("t.echo")
    assert await tasks.delete_lock(name) is True
    assert await tasks.locks() == {}
    assert await tasks.delete_lock(name) is False
    assert await tasks.delete_lock("lock:never") is False
    # only plugin locks: the leader lock and Resque's other keys are never deleted
    assert await tasks.delete_lock("resque_scheduler_leader_lock") is False
    assert await tasks.delete_lock("queue:default") is False
    assert await tasks.leader() == "sched:1"
    assert await tasks.length("default") == 1
    assert await backend.acquire_lock(name, "2", 3600) is True  # free again
