"""A whole App on a three-master Redis Cluster, with a hash-tagged namespace: every key
lands in the one slot of ``{resque}``, wherever the URL points."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot
from tests.contract.conftest import RedisClusterServers
from tests.helpers import FAST, eventually

from stellar import App, ConfigError, Task
from stellar.backends.redis import RedisBackend


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServers]:
    with tempfile.TemporaryDirectory(prefix="stellar-cluster-app-") as d:
        servers = RedisClusterServers(Path(d))
        servers.start()
        try:
            yield servers
        finally:
            servers.stop()


async def _owner(cluster: RedisClusterServers, key: str) -> int:
    """The port of the master that serves ``key``'s slot."""
    admin = Redis(port=cluster.ports[0], decode_responses=True)
    try:
        slot = key_slot(key.encode())
        for start, end, master, *_ in await admin.execute_command("CLUSTER", "SLOTS"):
            if int(start) <= slot <= int(end):
                return int(master[1])
    finally:
        await admin.aclose()
    raise AssertionError(f"no master serves slot {slot}")


async def test_an_app_on_a_three_master_cluster(
    cluster: RedisClusterServers, tmp_path: Path
) -> None:
    cluster.flush()
    owner = await _owner(cluster, "{resque}")
    elsewhere = next(p for p in cluster.ports if p != owner)  # the client follows MOVED
    ran: list[Any] = []
    beats: list[float] = []

    async def work(api: Any, params: Any) -> None:
        if params.get("fail"):
            raise RuntimeError("asked to fail")
        ran.append(params["n"])

    async def beat(api: Any, params: Any) -> None:
        beats.append(time.time())

    tasks_ = [
        Task(name="c.work", description="work", run=work),
        Task(name="c.beat", description="periodic", run=beat, frequency=0.2),
    ]
    url = f"redis+cluster://127.0.0.1:{elsewhere}"
    async with App(tmp_path, tasks=tasks_, backend=url, namespace="{resque}", env={},
                   **FAST) as app:  # fmt: skip
        tasks = app.api.tasks
        assert await tasks.enqueue_many("c.work", ({"n": n} for n in range(20))) == 20
        await tasks.enqueue_in(0.3, "c.work", {"n": 20})
        await tasks.enqueue("c.work", {"fail": True})
        await eventually(lambda: len(ran) == 21 and len(beats) >= 2)

        async def one_failed() -> bool:
            return await tasks.failed_count() == 1

        await eventually(one_failed)
        [failed] = await tasks.failed()
        assert failed.error == "asked to fail"
        details = await tasks.details()
        assert details.leader == app.name and details.stats["processed"] >= 21
        assert len(details.workers) >= 1

    assert sorted(ran) == list(range(21))
    for port in cluster.ports:
        node = Redis(port=port, decode_responses=True)
        try:
            keys = await node.keys("*")
        finally:
            await node.aclose()
        if port == owner:
            assert keys and all(k.startswith("{resque}:") for k in keys)
            assert {key_slot(k.encode()) for k in keys} == {key_slot(b"{resque}")}
        else:
            assert keys == []


async def test_a_cluster_needs_a_hash_tagged_namespace(cluster: RedisClusterServers) -> None:
    with pytest.raises(ConfigError, match="hash-tagged") as refused:
        RedisBackend(f"redis+cluster://:s3cret@127.0.0.1:{cluster.ports[0]}", namespace="resque")
    assert "s3cret" not in str(refused.value) and ":***@127.0.0.1" in str(refused.value)
    bad = RedisBackend("redis://:s3cret@127.0.0.1:notaport/0")
    with pytest.raises(ConfigError) as refused:
        await bad.check()
    assert "s3cret" not in str(refused.value)
    store = RedisBackend(cluster.url, namespace="app:{jobs}")
    try:
        await store.push("q", ["x"])
        assert await store.queued("q") == ["x"]
    finally:
        await store.aclose()
