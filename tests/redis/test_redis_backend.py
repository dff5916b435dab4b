"""RedisBackend beyond the contract: the Resque layout other clients see, foreign data,
namespaces, URLs and races."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from stellar.backends import open_backend
from stellar.backends.protocol import ClaimRequest
from stellar.backends.redis import RedisBackend
from stellar.backends.redis.backend import FALLBACK_QUEUE
from stellar.backends.redis.keys import ResqueKeys
from stellar.codec import decode_working_on, encode_job
from stellar.errors import BackendError, ConfigError

K = ResqueKeys()
W, WQ = "host:1+1", "q"


def job(task: str = "t", queue: str = "q", params: object = None) -> str:
    return encode_job(task, queue, [{} if params is None else params])


async def test_open_backend_gives_a_redis_backend(redis_url: str) -> None:
    store = open_backend(redis_url, namespace="ns")
    try:
        assert isinstance(store, RedisBackend)
        assert store.url == redis_url and store.namespace == "ns"
        await store.check()
    finally:
        await store.aclose()


async def test_data_is_in_resque_layout(backend: RedisBackend, raw: Redis) -> None:
    """What node-resque (and resque-web) read: key names and types."""
    a, b = job(params=1), job(params=2)
    await backend.push("q", [a, b])
    await backend.push_delayed(b, 1_700_000_000)
    await backend.register_worker(W, WQ, 1_000.4)
    await backend.claim(["q"], W, WQ, 1_000.0)
    await backend.finish(W, WQ, failure='{"failed":1}')
    await backend.acquire_lock("lock:t:q:[1]", "99", 60)
    await backend.acquire_leader("sched", 60)
    types = {key: await raw.type(key) for key in await raw.keys("*")}
    assert types == {
        "resque:queues": "set",
        "resque:queue:q": "list",
        "resque:delayed_queue_schedule": "zset",
        "resque:delayed:1700000000": "list",
        f"resque:timestamps:{b}": "set",
        "resque:workers": "set",
        "resque:worker:host:1+1:q:started": "string",
        "resque:worker:ping:host:1+1": "string",
        "resque:stat:failed": "string",
        "resque:stat:failed:host:1+1": "string",
        "resque:failed": "list",
        "resque:lock:t:q:[1]": "string",
        "resque:resque_scheduler_leader_lock": "string",
    }
    assert await raw.smembers("resque:workers") == {"host:1+1:q"}
    assert await raw.get("resque:worker:host:1+1:q:started") == "1000"
    assert await raw.get("resque:worker:ping:host:1+1") == (
        '{"time":1000,"name":"host:1+1","queues":"q"}'
    )
    assert await raw.smembers(f"resque:timestamps:{b}") == {"delayed:1700000000"}
    assert await raw.zrange("resque:delayed_queue_schedule", 0, -1, withscores=True) == [
        ("1700000000", 1_700_000_000.0)
    ]
    assert await raw.lrange("resque:queue:q", 0, -1) == [b]


async def test_a_precise_time_is_kept_beside_the_resque_keys(
    backend: RedisBackend, raw: Redis
) -> None:
    p = job()
    await backend.push_delayed(p, 100.25)
    assert await raw.zrange(K.delayed_precise, 0, -1, withscores=True) == [(f"101|{p}", 100.25)]
    assert await raw.lrange(K.delayed(101), 0, -1) == [p]


async def test_a_node_resque_delayed_job_moves_at_its_whole_second(
    backend: RedisBackend, raw: Redis
) -> None:
    """node-resque's enqueueAt writes delayed:<ts>, timestamps: and the schedule only."""
    p = job("email.send", "mail", {"to": "a@b.c"})
    await raw.rpush(K.delayed(1_000), p)
    await raw.sadd(K.timestamps(p), "delayed:1000")
    await raw.zadd(K.delayed_schedule, {"1000": 1_000})
    assert await backend.next_due() == 1_000
    assert await backend.timestamps() == [1_000]
    assert await backend.scheduled_at(p) == [1_000]
    assert await backend.promote_due(999.5) == 0
    assert await backend.promote_due(999.999) == 0
    assert await backend.length("mail") == 0
    assert await backend.promote_due(1_000.0) == 1
    assert await backend.queued("mail") == [p]
    assert await backend.queues() == ["mail"]
    assert await raw.keys("*") != []
    assert await backend.next_due() is None
    assert sorted(await raw.keys("*")) == [K.queue("mail"), K.queues]


async def test_foreign_payloads_are_routed_by_their_queue(
    backend: RedisBackend, raw: Redis
) -> None:
    ruby = '{"class":"Mailer","args":[1],"queue":"ruby"}'  # resque-scheduler's key order
    broken = "not json"
    nameless = '{"class":"X","args":[]}'
    for payload in (ruby, broken, nameless):
        await raw.rpush(K.delayed(10), payload)
        await raw.sadd(K.timestamps(payload), "delayed:10")
    await raw.zadd(K.delayed_schedule, {"10": 10})
    assert await backend.promote_due(10) == 3
    assert await backend.queued("ruby") == [ruby]
    assert await backend.queued(FALLBACK_QUEUE) == [broken, nameless]
    assert await backend.delayed_count() == 0


async def test_promote_tidies_what_other_clients_left(backend: RedisBackend, raw: Redis) -> None:
    p, q = job(params=1), job(params=2)
    await backend.push_delayed(p, 100.5)
    await backend.push_delayed(q, 200.5)
    # a node-resque scheduler moved p (our precise entry stays behind) ...
    await raw.delete(K.delayed(101), K.timestamps(p))
    await raw.zrem(K.delayed_schedule, "101")
    # ... and node-resque's delDelayed removed q but left its schedule entry
    await raw.delete(K.delayed(201), K.timestamps(q))
    assert await backend.timestamps() == []  # only timestamps that hold jobs
    assert await backend.next_due() == 100.5
    assert await backend.promote_due(100.5) == 0
    assert await backend.next_due() == 200.5
    assert await backend.promote_due(500) == 0
    assert await backend.next_due() is None
    assert await raw.keys("*") == []


async def test_promote_due_respects_limit_within_one_timestamp(backend: RedisBackend) -> None:
    payloads = [job(params=i) for i in range(5)]
    for p in payloads:
        await backend.push_delayed(p, 50)
    assert await backend.promote_due(60, limit=3) == 3
    assert await backend.queued("q") == payloads[:3]
    assert await backend.delayed_at(50) == payloads[3:]
    assert await backend.promote_due(60, limit=0) == 0
    assert await backend.promote_due(60) == 2
    assert await backend.queued("q") == payloads


async def test_many_delayed_jobs_move_in_few_round_trips(backend: RedisBackend) -> None:
    payloads = [job(params=i) for i in range(3_000)]
    for i, p in enumerate(payloads):
        await backend.push_delayed(p, 1_000 + i // 10 + 0.5)
    assert await backend.promote_due(10_000, limit=2_000) == 2_000
    assert await backend.promote_due(10_000, limit=2_000) == 1_000
    assert await backend.queued("q") == payloads
    assert await backend.next_due() is None


async def test_concurrent_schedulers_move_each_job_exactly_once(redis_url: str) -> None:
    stores = [RedisBackend(redis_url) for _ in range(4)]
    try:
        payloads = [job(params=i) for i in range(400)]
        for i, p in enumerate(payloads):
            await stores[0].push_delayed(p, 10 + i % 7 + (i % 3) / 4)
        moved = await asyncio.gather(
            *(store.promote_due(1_000, limit=50) for store in stores for _ in range(5))
        )
        moved_total = sum(moved)
        while moved_total < len(payloads):
            step = await stores[0].promote_due(1_000)
            assert step > 0
            moved_total += step
        assert moved_total == len(payloads)
        queued = await stores[0].queued("q")
        assert sorted(queued) == sorted(payloads)
        assert await stores[0].delayed_count() == 0
    finally:
        for store in stores:
            await store.aclose()


async def test_concurrent_claims_take_each_job_once(backend: RedisBackend) -> None:
    payloads = [job(params=i) for i in range(600)]
    await backend.push("q", payloads)

    async def worker(n: int) -> list[str]:
        name, got = f"host:1+{n}", []
        while (claimed := await backend.claim(["q"], name, "q", 1.0)) is not None:
            got.append(claimed.payload)
            await backend.finish(name, "q")
        return got

    results = await asyncio.gather(*(worker(n) for n in range(8)))
    taken = [p for got in results for p in got]
    assert sorted(taken) == sorted(payloads)
    assert (await backend.stats())["processed"] == 600


async def test_concurrent_ensures_seed_one_copy(redis_url: str) -> None:
    stores = [RedisBackend(redis_url) for _ in range(3)]
    try:
        tick = job("tick")
        await stores[0].register_worker(W, WQ, 1.0)
        churn = asyncio.gather(
            *(stores[2].register_worker(f"host:9+{i}", "q", 1.0) for i in range(30))
        )
        seeded = await asyncio.gather(
            *(store.ensure_delayed("tick", "q", tick, 100.5) for store in stores[:2] * 10),
            churn,
        )
        assert sum(1 for s in seeded[:-1] if s) == 1
        assert await stores[0].scheduled_at(tick) == [101]
    finally:
        for store in stores:
            await store.aclose()


async def test_ensure_sees_a_registered_node_worker(backend: RedisBackend, raw: Redis) -> None:
    tick = job("tick")
    worker_id = "other:7:q"
    await raw.sadd(K.workers, worker_id)
    # node-resque's Lua re-encodes the record with cjson (any key order, args [] -> {})
    await raw.set(
        K.worker_by_id(worker_id),
        '{"payload":{"args":{},"queue":"q","class":"tick"},"worker":"other:7","queue":"q",'
        '"run_at":"Wed Jun 17 2026 14:06:56 GMT-0700 (Pacific Daylight Time)"}',
    )
    assert await backend.ensure_delayed("tick", "q", tick, 10) is False
    await raw.delete(K.worker_by_id(worker_id))
    assert await backend.ensure_delayed("tick", "q", tick, 10) is True


async def test_release_restores_the_exact_job_text(backend: RedisBackend, raw: Redis) -> None:
    odd = ['{"class":"t", "queue":"q",  "args":[1.50]}', "not json", '"a string"', "[]"]
    await backend.push("q", odd)
    for payload in odd:
        claimed = await backend.claim(["q"], W, WQ, 5.0)
        assert claimed is not None and claimed.payload == payload
        assert await backend.working_on(W, WQ) == claimed.record
        assert await backend.release(W, WQ, claimed.record) is True
        assert await backend.queued("q", 0, 0) == [payload]
        await backend.remove("q", payload)
        await backend.push("q", [payload])
    assert await backend.queued("q") == odd
    # a record another client wrote (key order of node-resque 9 without Lua)
    p = job(params=3)
    record = (
        '{"run_at":"Wed Jun 17 2026 14:06:56 GMT-0700 (Pacific Daylight Time)",'
        f'"queue":"other","worker":"{W}","payload":{p}}}'
    )
    await raw.set(K.worker(W, WQ), record)
    assert await backend.release(W, WQ, record) is True
    assert await backend.queued("other") == [p]


async def test_claim_records_are_readable_by_the_codec(backend: RedisBackend) -> None:
    payload = job("email.send", "mail", {"to": "é/\u2028"})
    await backend.push("mail", [payload])
    claimed = await backend.claim(["nothing", "mail"], W, "nothing,mail", 1_700_000_000)
    assert claimed is not None
    info = decode_working_on(claimed.record)
    assert (info.worker, info.queue, info.payload_text) == (W, "mail", payload)


async def test_ruby_style_workers_are_listed(backend: RedisBackend, raw: Redis) -> None:
    await raw.sadd(K.workers, "ruby-host:4242:critical,default", "lonely")
    await raw.set(
        K.worker_started("ruby-host:4242", "critical,default"), "2024-01-02 03:04:05 +0000"
    )
    assert await backend.workers() == {"ruby-host:4242": "critical,default", "lonely": ""}
    records = {r.name: r for r in await backend.worker_records()}
    assert records["ruby-host:4242"].started == 1_704_164_645.0
    assert records["ruby-host:4242"].ping is None


async def test_bytes_that_are_not_utf8_survive(backend: RedisBackend, redis_url: str) -> None:
    binary = Redis.from_url(redis_url)  # no decoding
    try:
        await binary.rpush(K.queue("q"), b"\xff\xfe{bad}", b"ok")
        [bad, ok] = await backend.queued("q")
        assert ok == "ok"
        assert await backend.remove("q", bad) == 1
        await backend.push("q", [bad])
        assert await binary.lrange(K.queue("q"), 0, -1) == [b"ok", b"\xff\xfe{bad}"]
    finally:
        await binary.aclose()


async def test_scripts_are_registered_again_after_a_flush(
    backend: RedisBackend, raw: Redis
) -> None:
    await backend.push("q", [job()])
    await raw.script_flush()
    await backend.push("q", [job(params=2)])  # single call: EVALSHA, NOSCRIPT, load, again
    await raw.script_flush()
    await backend.push_delayed(job(params=3), 10)
    await backend.push_delayed(job(params=4), 10)
    assert await backend.remove_delayed_at(10) == 2  # pipelined scripts
    assert await backend.length("q") == 2


async def test_a_burst_larger_than_the_pool_waits(backend: RedisBackend) -> None:
    payloads = [job(params=i) for i in range(1_500)]
    await asyncio.gather(*(backend.push("burst", [p]) for p in payloads))
    assert await backend.length("burst") == 1_500


async def test_one_push_of_many_payloads(backend: RedisBackend, raw: Redis) -> None:
    payloads = [job(params=i) for i in range(20_000)]
    await backend.push("bulk", payloads)
    assert await raw.llen(K.queue("bulk")) == 20_000
    assert await backend.queued("bulk", -1) == [payloads[-1]]


async def test_stats_and_locks_scan_many_keys(backend: RedisBackend) -> None:
    await backend.incr_stats({f"processed:host:{i}+1": i + 1 for i in range(300)})
    for i in range(250):
        await backend.acquire_lock(f"lock:t:q:[{i}]", str(i), 60)
    stats = await backend.stats()
    assert len(stats) == 300 and stats["processed:host:299+1"] == 300
    locks = await backend.locks()
    assert len(locks) == 250 and locks["lock:t:q:[7]"] == "7"


async def test_close_is_idempotent_and_reconnects(backend: RedisBackend) -> None:
    await backend.push("q", [job()])
    await backend.aclose()
    await backend.aclose()
    assert await backend.length("q") == 1
    await backend.aclose()


# ----------------------------------------------------------------- namespaces and URLs


async def test_hash_tagged_namespace(redis_url: str, raw: Redis) -> None:
    store = RedisBackend(redis_url, namespace="{resque}")
    try:
        p, tick = job(params=1), job("tick")
        await store.push("q", [p])
        await store.register_worker(W, WQ, 1.0)
        claimed = await store.claim(["q"], W, WQ, 2.0)
        assert claimed is not None
        await store.finish(W, WQ, reschedule=("tick", "q", tick, 10.5))
        await store.push_delayed(p, 20.25)
        await store.acquire_lock("lock:x", "1", 60)
        await store.acquire_leader("s", 60)
        await store.stop_recurrent("other")
        assert await store.promote_due(11) == 1
        assert await store.queued("q") == [tick]
        assert await store.stats() == {"processed": 1, f"processed:{W}": 1}
        assert await store.locks() == {"lock:x": "1"}
        keys = await raw.keys("*")
        assert keys and all(key.startswith("{resque}:") for key in keys)
        assert {key_slot(key.encode()) for key in keys} == {key_slot(b"{resque}:queues")}
    finally:
        await store.aclose()


async def test_namespaces_do_not_mix(redis_url: str) -> None:
    one, two = RedisBackend(redis_url), RedisBackend(redis_url, namespace="other")
    try:
        await one.push("q", [job()])
        await one.incr_stats({"processed": 1})
        await one.acquire_lock("lock:a", "1", 60)
        assert await two.queues() == [] and await two.stats() == {} and await two.locks() == {}
    finally:
        await one.aclose()
        await two.aclose()


def test_a_cluster_needs_a_hash_tagged_namespace() -> None:
    with pytest.raises(ConfigError, match="hash-tagged"):
        RedisBackend("redis+cluster://127.0.0.1:7000")
    with pytest.raises(ConfigError, match="hash-tagged"):
        RedisBackend("redis+cluster://127.0.0.1:7000", namespace="{}")
    RedisBackend("redis+cluster://127.0.0.1:7000", namespace="{resque}")  # no connection yet


async def test_database_number_in_the_url(redis_url: str, raw: Redis) -> None:
    store = RedisBackend(redis_url.rsplit("/", 1)[0] + "/3")
    try:
        await store.push("q", [job()])
        assert await raw.keys("*") == []
        assert await store.length("q") == 1
    finally:
        await store.aclose()


async def test_unix_socket_and_password(spare_server: Any, tmp_path: Any) -> None:
    sock = tmp_path / "r.sock"
    server = spare_server("--unixsocket", str(sock))
    admin = Redis(port=server.port)
    await admin.config_set("requirepass", "s3cret")  # after start: the start check PINGs
    await admin.aclose()
    for url in (f"unix://:s3cret@{sock}?db=1", f"redis://:s3cret@127.0.0.1:{server.port}/2"):
        store = RedisBackend(url)
        try:
            await store.push("q", [job()])
            assert await store.queued("q") == [job()]
        finally:
            await store.aclose()
    wrong = RedisBackend(f"redis://:nope@127.0.0.1:{server.port}/0")
    try:
        with pytest.raises(BackendError, match="refused") as caught:
            await wrong.check()
        assert "nope" not in str(caught.value)
    finally:
        await wrong.aclose()


async def test_redis_errors_become_backend_errors(backend: RedisBackend, raw: Redis) -> None:
    await raw.set(K.queue("q"), "a string, not a list")
    with pytest.raises(BackendError, match="WRONGTYPE") as caught:
        await backend.push("q", [job()])
    assert type(caught.value) is BackendError


async def test_odd_schedule_members_do_not_stall_the_scheduler(
    backend: RedisBackend, raw: Redis
) -> None:
    """A member that is not a decimal integer is still a timestamp to node-resque."""
    p = job()
    await raw.rpush(K.delayed("1e3"), p)
    await raw.sadd(K.timestamps(p), "delayed:1e3")
    await raw.zadd(K.delayed_schedule, {"1e3": 1_000, "junk": 5})
    assert await backend.next_due() == 5
    assert await backend.promote_due(1_000) == 1
    assert await backend.queued("q") == [p]
    assert await backend.next_due() is None


async def _reads(raw: Redis) -> int:
    """Reads of the schedule a promotion pass makes (the scripts make none of these)."""
    stats = await raw.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("zrangebyscore",))


async def test_jobs_read_ahead_move_in_one_script_call(backend: RedisBackend, raw: Redis) -> None:
    """A full pass reads the jobs due in the next moments with their queues; when they
    fall due, the round is one script call: nothing is read first."""
    jobs = [job(params=n) for n in range(3)]
    for payload, at in zip(jobs, (100.01, 100.02, 100.03), strict=True):
        await backend.push_delayed(payload, at)
    assert (await backend.promote_round(100.0)).moved == 0  # the pass that reads ahead
    before = await _reads(raw)
    assert (await backend.promote_round(100.02)).moved == 2
    assert await _reads(raw) == before
    assert await backend.queued("q") == jobs[:2]


async def test_a_round_of_jobs_read_ahead_claims_in_the_same_write(
    backend: RedisBackend, raw: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claims of idle workers ride with the promote call: one write, one answer."""
    jobs = [job(params=n) for n in range(2)]
    for payload, at in zip(jobs, (100.01, 100.02), strict=True):
        await backend.push_delayed(payload, at)
    assert (await backend.promote_round(100.0)).moved == 0  # the pass that reads ahead
    writes: list[list[str]] = []
    send_all = backend._send_all

    async def spy(client: Any, commands: Any) -> list[Any]:
        writes.append([command[0] for command in commands])
        return await send_all(client, commands)

    monkeypatch.setattr(backend, "_send_all", spy)
    claims = [ClaimRequest(f"w+{n}", "q", ("q",)) for n in (1, 2, 3)]
    promotion = await backend.promote_round(100.02, claims=claims)
    assert writes == [["EVALSHA", "EVALSHA"]]
    assert promotion.moved == 2
    assert [c.payload if c else None for c in promotion.claimed] == [*jobs, None]
    assert await raw.exists(K.worker("w+1", "q"), K.worker("w+2", "q")) == 2


async def test_a_foreign_job_filed_after_a_read_ahead_moves_at_its_second(
    backend: RedisBackend, raw: Redis
) -> None:
    """node-resque files a job under its whole second, with no precise entry and no
    signal: the script's answer (the earliest due time left) still leads to it."""
    ours, foreign = job(params="ours"), job(params="foreign")
    await backend.push_delayed(ours, 100.5)
    assert (await backend.promote_round(100.48)).next_due == pytest.approx(100.5)
    await raw.rpush(K.delayed(100), foreign)  # due at 100, before ours
    await raw.sadd(K.timestamps(foreign), "delayed:100")
    await raw.zadd(K.delayed_schedule, {"100": 100})
    promotion = await backend.promote_round(100.5)
    assert promotion.moved == 2 and promotion.next_due is None
    assert await backend.queued("q") == [foreign, ours]


async def test_prepare_opens_the_connections_a_burst_will_use(
    backend: RedisBackend, raw: Redis
) -> None:
    async def clients() -> int:
        return int((await raw.info("clients"))["connected_clients"])

    await backend.push("q", [job(params="first")])  # the scripts are on the server
    await backend.prepare(6)
    prepared = await clients()
    # six script calls at once (what processors make): no new connection
    await asyncio.gather(*(backend.push("q", [job(params=n)]) for n in range(6)))
    await asyncio.gather(*(backend.claim(["q"], f"w{n}", "q", 1.0) for n in range(6)))
    assert await clients() == prepared
    assert await backend.length("q") == 1
