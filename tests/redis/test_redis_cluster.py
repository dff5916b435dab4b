"""redis+cluster:// on a one-node Redis Cluster holding every slot."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from tests.conftest import free_port

from stellar.backends.redis import RedisBackend
from stellar.codec import encode_job

W, WQ = "host:1+1", "q"


async def _cluster(spare_server: Any, tmp_path: Any) -> Any:
    # the cluster bus port defaults to port + 10000, which may be taken or past 65535
    server = spare_server(
        "--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / "nodes.conf"),
        "--cluster-port", str(free_port()),
    )  # fmt: skip
    admin = Redis(port=server.port, decode_responses=True)
    try:
        await admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        for _ in range(200):
            info = await admin.execute_command("CLUSTER", "INFO")
            if "cluster_state:ok" in info:
                return server
            await asyncio.sleep(0.05)
        raise RuntimeError("the one-node cluster did not come up")
    finally:
        await admin.aclose()


async def test_the_backend_on_a_cluster(spare_server: Any, tmp_path: Any) -> None:
    server = await _cluster(spare_server, tmp_path)
    store = RedisBackend(f"redis+cluster://127.0.0.1:{server.port}", namespace="{resque}")
    try:
        p, tick = encode_job("t", "q", [{}]), encode_job("tick", "q", [{}])
        await store.push("q", [p, p])
        await store.register_worker(W, WQ, 1.0)
        claimed = await store.claim(["q"], W, WQ, 2.0)
        assert claimed is not None and claimed.payload == p
        await store.finish(W, WQ, reschedule=("tick", "q", tick, 10.5))
        assert await store.push_delayed(p, 20.25)
        assert await store.timestamps() == [11, 21]
        assert await store.promote_due(11) == 1
        assert await store.queued("q") == [p, tick]
        assert await store.ensure_delayed("tick", "q", tick, 30) is False
        assert await store.remove_all_delayed() == 1
        await store.acquire_lock("lock:x", "1", 60)
        assert await store.locks() == {"lock:x": "1"}
        assert await store.stats() == {"processed": 1, f"processed:{W}": 1}
        assert await store.acquire_leader("s", 60)
        assert await store.release_leader("s")
        await store.unregister_worker(W, WQ)
        assert await store.workers() == {}
    finally:
        await store.aclose()
