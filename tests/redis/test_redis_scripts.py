"""Each Lua script of lua/, called directly with EVAL (no backend code in between)."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest
from redis.asyncio import Redis

from stellar.backends.redis.keys import ResqueKeys
from stellar.backends.redis.scripts import SCRIPT_NAMES, ScriptSet
from stellar.codec import encode_job, working_on_prefix

K = ResqueKeys()
A, B, C = (encode_job("t", "q", [{"n": n}]) for n in range(3))
TICK = encode_job("tick", "q", [{}])
W, WQ = "host:1+1", "q"
WID = K.worker_id(W, WQ)


@pytest.fixture
def run(raw: Redis, scripts: ScriptSet) -> Any:
    async def call(name: str, keys: list[str], args: list[Any]) -> Any:
        return await raw.eval(scripts[name].source, len(keys), *keys, *args)

    return call


# ------------------------------------------------------------------------ the files


def test_every_script_has_a_header_naming_keys_and_argv(scripts: ScriptSet) -> None:
    assert sorted(scripts) == sorted(SCRIPT_NAMES)
    folder = resources.files("stellar.backends.redis").joinpath("lua")
    for name in SCRIPT_NAMES:
        text = folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")
        assert text.startswith(f"-- {name}: "), name
        header = text.split("\n\n", 1)[0]
        assert "-- KEYS[" in header, name
        assert "-- ARGV[" in header, name


def test_scripts_build_no_keys(scripts: ScriptSet) -> None:
    """Every key arrives through KEYS: no literal key, no namespace, no key concatenation."""
    call_with_literal_key = re.compile(r"redis\.call\('\w+',\s*['\"]")
    for script in scripts.values():
        code = "\n".join(line.split("--", 1)[0] for line in script.source.splitlines())
        assert "resque" not in code
        assert not call_with_literal_key.search(code), script.name
        for match in re.finditer(r"redis\.call\('\w+',\s*([^,)]+)", code):
            first = match.group(1).strip()
            assert ".." not in first, (script.name, first)


def test_fragments_are_expanded(scripts: ScriptSet) -> None:
    assert "--@include" not in scripts["finish"].source
    assert "local function ensure_delayed" in scripts["finish"].source
    assert "local function file_delayed" in scripts["push_delayed"].source


# --------------------------------------------------------------------------- queues


async def test_push(run: Any, raw: Redis) -> None:
    many = [encode_job("t", "q", [i]) for i in range(2_500)]  # more than one RPUSH chunk
    assert await run("push", [K.queues, K.queue("q")], ["q", A, *many]) == 2_501
    assert await raw.lrange(K.queue("q"), 0, -1) == [A, *many]
    assert await run("push", [K.queues, K.queue("e")], ["e"]) == 0
    assert await raw.smembers(K.queues) == {"q", "e"}
    assert await raw.exists(K.queue("e")) == 0


async def test_delete_queue(run: Any, raw: Redis) -> None:
    await raw.rpush(K.queue("q"), A, B)
    await raw.sadd(K.queues, "q", "r")
    assert await run("delete_queue", [K.queue("q"), K.queues], ["q"]) == 2
    assert await raw.smembers(K.queues) == {"r"}
    assert await raw.exists(K.queue("q")) == 0


async def test_claim(run: Any, raw: Redis) -> None:
    await raw.rpush(K.queue("low"), A)
    await raw.rpush(K.queue("high"), B, C)
    prefixes = [working_on_prefix(W, q, 1_000.0) for q in ("empty", "high", "low")]
    keys = [K.worker(W, WQ), K.working, K.queue("empty"), K.queue("high"), K.queue("low")]
    assert await run("claim", keys, [WID, *prefixes]) == [2, B]
    assert await raw.get(K.worker(W, WQ)) == prefixes[1] + B + "}"
    assert await raw.smembers(K.working) == {WID}
    assert await run("claim", keys, [WID, *prefixes]) == [2, C]
    assert await run("claim", keys, [WID, *prefixes]) == [3, A]
    assert await raw.get(K.worker(W, WQ)) == prefixes[2] + A + "}"
    await raw.delete(K.worker(W, WQ), K.working)
    assert await run("claim", keys, [WID, *prefixes]) is None
    assert await raw.exists(K.worker(W, WQ), K.working) == 0


async def test_release(run: Any, raw: Redis) -> None:
    record = working_on_prefix(W, "q", 1.0) + A + "}"
    await raw.set(K.worker(W, WQ), record)
    await raw.sadd(K.working, WID)
    await raw.rpush(K.queue("q"), B)
    keys = [K.worker(W, WQ), K.queue("q"), K.queues, K.working]
    assert await run("release", keys, [record + " ", A, "q", WID]) == 0
    assert await raw.lrange(K.queue("q"), 0, -1) == [B]
    assert await run("release", keys, [record, A, "q", WID]) == 1
    assert await raw.lrange(K.queue("q"), 0, -1) == [A, B]
    assert await raw.smembers(K.queues) == {"q"}
    assert await raw.exists(K.worker(W, WQ), K.working) == 0
    assert await run("release", keys, [record, A, "q", WID]) == 0


async def test_retry_failed(run: Any, raw: Redis) -> None:
    await raw.rpush(K.failed, "f1", "f2", "f1")
    keys = [K.failed, K.queues, K.queue("again")]
    assert await run("retry_failed", keys, ["f1", "again", A]) == 1
    assert await raw.lrange(K.failed, 0, -1) == ["f2", "f1"]
    assert await raw.lrange(K.queue("again"), 0, -1) == [A]
    assert await raw.smembers(K.queues) == {"again"}
    assert await run("retry_failed", keys, ["nope", "again", A]) == 0
    assert await raw.llen(K.queue("again")) == 1


# -------------------------------------------------------------------------- delayed


def _push_delayed_call(payload: str, ts: int, precise: str) -> tuple[list[str], list[Any]]:
    return (
        [K.timestamps(payload), K.delayed(ts), K.delayed_schedule, K.delayed_precise],
        [ts, K.timestamps_member(ts), payload, precise, K.precise_member(ts, payload)],
    )


async def test_push_delayed(run: Any, raw: Redis) -> None:
    assert await run("push_delayed", *_push_delayed_call(A, 101, "100.25")) == 1
    assert await raw.lrange(K.delayed(101), 0, -1) == [A]
    assert await raw.smembers(K.timestamps(A)) == {"delayed:101"}
    assert await raw.zrange(K.delayed_schedule, 0, -1, withscores=True) == [("101", 101.0)]
    assert await raw.zrange(K.delayed_precise, 0, -1, withscores=True) == [
        (K.precise_member(101, A), 100.25)
    ]
    # duplicate at the same second: nothing written
    assert await run("push_delayed", *_push_delayed_call(A, 101, "100.5")) == 0
    assert await raw.llen(K.delayed(101)) == 1
    assert await raw.zscore(K.delayed_precise, K.precise_member(101, A)) == 100.25
    # a whole second keeps no precise entry (and drops a stale one)
    await raw.zadd(K.delayed_precise, {K.precise_member(200, B): 199.5})
    assert await run("push_delayed", *_push_delayed_call(B, 200, "")) == 1
    assert await raw.zscore(K.delayed_precise, K.precise_member(200, B)) is None
    assert await raw.zrange(K.delayed_schedule, 0, -1) == ["101", "200"]


def _promote_call(ts: int, now: float, *items: tuple[str, str]) -> tuple[list[str], list[Any]]:
    keys = [K.delayed(ts), K.delayed_schedule, K.delayed_precise, K.queues]
    args: list[Any] = [str(ts), K.timestamps_member(ts), repr(now), ts, ""]
    for payload, queue in items:
        keys += [K.queue(queue), K.timestamps(payload)]
        args += [payload, queue, K.precise_member(ts, payload)]
    return keys, args


async def _file(raw: Redis, payload: str, ts: int, precise: float | None = None) -> None:
    """File a job the way node-resque does, plus our precise entry when given."""
    await raw.rpush(K.delayed(ts), payload)
    await raw.sadd(K.timestamps(payload), K.timestamps_member(ts))
    await raw.zadd(K.delayed_schedule, {str(ts): ts})
    if precise is not None:
        await raw.zadd(K.delayed_precise, {K.precise_member(ts, payload): precise})


async def test_promote_moves_due_jobs_and_tidies(run: Any, raw: Redis) -> None:
    r = encode_job("t", "r", [{}])
    await _file(raw, A, 100)  # a foreign job: due at its whole second
    await _file(raw, r, 100, precise=99.5)
    assert (await run("promote", *_promote_call(100, 100.0, (A, "q"), (r, "r"))))[0] == 2
    assert await raw.lrange(K.queue("q"), 0, -1) == [A]
    assert await raw.lrange(K.queue("r"), 0, -1) == [r]
    assert await raw.smembers(K.queues) == {"q", "r"}
    assert await raw.exists(K.delayed(100), K.timestamps(A), K.timestamps(r)) == 0
    assert await raw.zcard(K.delayed_schedule) == await raw.zcard(K.delayed_precise) == 0


async def test_promote_leaves_jobs_that_are_not_due(run: Any, raw: Redis) -> None:
    await _file(raw, A, 101, precise=100.75)
    await _file(raw, B, 101)  # foreign: due at 101
    call = _promote_call(101, 100.5, (A, "q"), (B, "q"))
    assert (await run("promote", *call))[0] == 0
    assert await raw.lrange(K.delayed(101), 0, -1) == [A, B]
    call = _promote_call(101, 100.75, (A, "q"), (B, "q"))
    assert (await run("promote", *call))[0] == 1
    assert await raw.lrange(K.queue("q"), 0, -1) == [A]
    assert await raw.lrange(K.delayed(101), 0, -1) == [B]
    assert await raw.zrange(K.delayed_schedule, 0, -1) == ["101"]
    assert await raw.smembers(K.timestamps(B)) == {"delayed:101"}


async def test_promote_never_waits_past_the_timestamp(run: Any, raw: Redis) -> None:
    # a precise entry later than its timestamp (inconsistent data) does not hold the job
    await _file(raw, A, 100, precise=150.0)
    assert (await run("promote", *_promote_call(100, 100.0, (A, "q"))))[0] == 1
    assert sorted(await raw.keys("*")) == [K.queue("q"), K.queues]


async def test_promote_skips_items_no_longer_filed(run: Any, raw: Redis) -> None:
    # another scheduler took A; our precise entry and timestamps member are left behind
    await raw.zadd(K.delayed_precise, {K.precise_member(100, A): 99.5})
    await raw.sadd(K.timestamps(A), "delayed:100")
    await raw.zadd(K.delayed_schedule, {"100": 100})  # and an empty timestamp
    assert (await run("promote", *_promote_call(100, 200.0, (A, "q"))))[0] == 0
    assert await raw.llen(K.queue("q")) == 0
    assert await raw.zcard(K.delayed_precise) == 0
    assert await raw.zcard(K.delayed_schedule) == 0
    assert await raw.exists(K.timestamps(A)) == 0


async def test_promote_moves_each_copy_once(run: Any, raw: Redis) -> None:
    # two copies of one job in one list (a racy foreign enqueueAt): both move, once each
    await _file(raw, A, 100)
    await _file(raw, A, 100)
    await _file(raw, B, 100)
    assert (await run("promote", *_promote_call(100, 100.0, (A, "q"))))[0] == 1
    assert await raw.smembers(K.timestamps(A)) == {"delayed:100"}  # a copy is left
    assert (await run("promote", *_promote_call(100, 100.0, (A, "q"), (A, "q"))))[0] == 1
    assert await raw.lrange(K.queue("q"), 0, -1) == [A, A]
    assert await raw.exists(K.timestamps(A)) == 0
    assert await raw.lrange(K.delayed(100), 0, -1) == [B]


async def test_unschedule(run: Any, raw: Redis) -> None:
    await _file(raw, A, 100, precise=99.5)
    await _file(raw, A, 100, precise=99.5)
    await _file(raw, B, 100)
    await _file(raw, A, 200)

    def call(ts: int, *payloads: str) -> tuple[list[str], list[Any]]:
        keys = [K.delayed(ts), K.delayed_schedule, K.delayed_precise]
        args: list[Any] = [str(ts), K.timestamps_member(ts)]
        for payload in payloads:
            keys.append(K.timestamps(payload))
            args += [payload, K.precise_member(ts, payload)]
        return keys, args

    assert await run("unschedule", *call(100, A)) == 2
    assert await raw.lrange(K.delayed(100), 0, -1) == [B]
    assert await raw.smembers(K.timestamps(A)) == {"delayed:200"}
    assert await raw.zcard(K.delayed_precise) == 0
    assert await raw.zrange(K.delayed_schedule, 0, -1) == ["100", "200"]
    assert await run("unschedule", *call(100, B, C)) == 1
    assert await raw.zrange(K.delayed_schedule, 0, -1) == ["200"]
    # no payloads: only tidies an empty timestamp
    await raw.zadd(K.delayed_schedule, {"300": 300})
    assert await run("unschedule", *call(300)) == 0
    assert await run("unschedule", *call(200)) == 0
    assert await raw.zrange(K.delayed_schedule, 0, -1) == ["200"]


# --------------------------------------------------------------------------- workers


async def test_register_and_unregister_worker(run: Any, raw: Redis) -> None:
    started, ping = K.worker_started(W, WQ), K.worker_ping(W)
    assert await run("register_worker", [K.workers, started, ping], [WID, 1_000, "{}"]) == 1
    assert await raw.smembers(K.workers) == {WID}
    assert await raw.get(started) == "1000"
    assert await raw.get(ping) == "{}"
    await raw.set(K.worker(W, WQ), "record")
    await raw.sadd(K.working, WID)
    await raw.set(K.worker_stat("processed", W), 3)
    await raw.set(K.stat("processed"), 3)
    owned = [K.worker(W, WQ), started, ping, K.worker_stat("processed", W)]
    keys = [K.workers, *owned, K.worker_stat("failed", W), K.working]
    assert await run("unregister_worker", keys, [WID]) == 1
    assert await raw.keys("*") == [K.stat("processed")]


def _finish_keys() -> list[str]:
    return [
        K.worker(W, WQ),
        K.stat("processed"),
        K.worker_stat("processed", W),
        K.stat("failed"),
        K.worker_stat("failed", W),
        K.failed,
        K.working,
    ]


def _ensure_block(
    task: str, queue: str, payload: str, ts: int, registered: list[str], working: list[str]
) -> tuple[list[str], list[Any]]:
    every = sorted({*registered, *working})
    keys = [
        K.recurrent_stopped,
        K.queue(queue),
        K.timestamps(payload),
        K.delayed(ts),
        K.delayed_schedule,
        K.delayed_precise,
        K.workers,
        K.working,
        *map(K.worker_by_id, every),
    ]
    args: list[Any] = [
        task,
        payload,
        ts,
        K.timestamps_member(ts),
        "",
        K.precise_member(ts, payload),
        len(registered),
        len(working),
        len(every),
        *registered,
        *working,
    ]
    return keys, args


async def test_finish_success_and_failure(run: Any, raw: Redis) -> None:
    await raw.set(K.worker(W, WQ), "record")
    await raw.sadd(K.working, WID)
    assert await run("finish", _finish_keys(), ["ok", "", WID, "0"]) == 1
    assert await raw.mget(K.stat("processed"), K.worker_stat("processed", W)) == ["1", "1"]
    assert await raw.exists(K.worker(W, WQ), K.working) == 0
    assert await run("finish", _finish_keys(), ["fail", '{"f":1}', WID, "0"]) == 1
    assert await raw.mget(K.stat("failed"), K.worker_stat("failed", W)) == ["1", "1"]
    assert await raw.lrange(K.failed, 0, -1) == ['{"f":1}']


async def test_finish_with_reschedule(run: Any, raw: Redis) -> None:
    record = working_on_prefix(W, "q", 1.0) + TICK + "}"
    await raw.set(K.worker(W, WQ), record)
    await raw.sadd(K.working, WID)
    await raw.sadd(K.workers, WID)
    bkeys, bargs = _ensure_block("tick", "q", TICK, 500, [WID], [WID])
    # the sets changed since they were read: nothing at all is written
    await raw.sadd(K.workers, "host:2+1:q")
    assert await run("finish", _finish_keys() + bkeys, ["ok", "", WID, "1", *bargs]) == -1
    assert await raw.exists(K.stat("processed")) == 0
    assert await raw.get(K.worker(W, WQ)) == record
    await raw.srem(K.workers, "host:2+1:q")
    # its own record does not count as a running copy
    assert await run("finish", _finish_keys() + bkeys, ["ok", "", WID, "1", *bargs]) == 1
    assert await raw.lrange(K.delayed(500), 0, -1) == [TICK]
    assert await raw.get(K.stat("processed")) == "1"
    assert await raw.exists(K.worker(W, WQ), K.working) == 0


async def test_ensure_delayed_refusals(run: Any, raw: Redis) -> None:
    def ensure(registered: list[str], working: list[str]) -> Any:
        return run("ensure_delayed", *_ensure_block("tick", "q", TICK, 100, registered, working))

    await raw.sadd(K.recurrent_stopped, "tick")
    assert await ensure([], []) == 0
    await raw.delete(K.recurrent_stopped)
    await raw.rpush(K.queue("q"), A, TICK)
    assert await ensure([], []) == 0
    await raw.delete(K.queue("q"))
    await raw.sadd(K.timestamps(TICK), "delayed:999")
    assert await ensure([], []) == 0
    await raw.delete(K.timestamps(TICK))
    # a node-resque worker (registered, cjson-encoded record in another key order)
    node = "other:7:q"
    await raw.sadd(K.workers, node)
    cjson = '{"payload":{"args":{},"queue":"q","class":"tick"},"worker":"other:7","queue":"q"}'
    await raw.set(K.worker_by_id(node), cjson)
    assert await ensure([node], []) == 0
    # a record cjson cannot read is somebody else's job
    await raw.set(K.worker_by_id(node), working_on_prefix("other:7", "q", 1.0) + "oops}")
    assert await raw.llen(K.delayed(100)) == 0
    # the sets changed since they were read
    assert await ensure([], []) == -1
    await raw.sadd(K.working, WID)
    assert await ensure([node], []) == -1
    await raw.set(K.worker(W, WQ), working_on_prefix(W, "q", 1.0) + TICK + "}")
    assert await ensure([node], [WID]) == 0  # ours, even unregistered
    await raw.delete(K.worker(W, WQ))
    assert await ensure([node], [WID]) == 1
    assert await raw.lrange(K.delayed(100), 0, -1) == [TICK]
    assert await raw.smembers(K.timestamps(TICK)) == {"delayed:100"}
    assert await ensure([node], [WID]) == 0


async def test_clean_worker(run: Any, raw: Redis) -> None:
    owned = [
        K.worker(W, WQ),
        K.worker_started(W, WQ),
        K.worker_ping(W),
        K.worker_stat("processed", W),
        K.worker_stat("failed", W),
    ]
    base = [K.workers, *owned, K.stat("failed"), K.failed, K.working]
    record = working_on_prefix(W, "q", 1.0) + A + "}"

    async def setup() -> None:
        await raw.sadd(K.workers, WID)
        await raw.sadd(K.working, WID)
        for key in owned:
            await raw.set(key, "x")
        await raw.set(K.worker(W, WQ), record)

    await setup()
    assert await run("clean_worker", base, [WID, "0", "", "1", "f", "0", "", ""]) == 0
    assert await run("clean_worker", base, [WID, "1", "other", "1", "f", "0", "", ""]) == 0
    assert await raw.exists(*owned) == len(owned)
    assert await run("clean_worker", base, [WID, "1", record, "1", "f", "0", "", ""]) == 1
    assert await raw.lrange(K.failed, 0, -1) == ["f"]
    assert await raw.get(K.stat("failed")) == "1"
    assert await raw.exists(*owned, K.workers, K.working) == 0

    await setup()
    requeue = base + [K.queue("q"), K.queues]
    assert await run("clean_worker", requeue, [WID, "1", record, "0", "", "1", "q", A]) == 1
    assert await raw.lrange(K.queue("q"), 0, -1) == [A]
    assert await raw.smembers(K.queues) == {"q"}
    assert await raw.llen(K.failed) == 1
    assert await raw.exists(*owned, K.workers, K.working) == 0

    await raw.sadd(K.workers, WID)
    assert await run("clean_worker", base, [WID, "0", "", "0", "", "0", "", ""]) == 1
    assert await raw.exists(K.workers) == 0


# ------------------------------------------------------------------- stats and leader


async def test_incr_stats(run: Any, raw: Redis) -> None:
    keys = [K.stat("processed"), K.stat("failed:w")]
    assert await run("incr_stats", keys, [2, -1]) == 2
    assert await run("incr_stats", keys, [3, 1]) == 2
    assert await raw.mget(keys) == ["5", "0"]


async def test_leader(run: Any, raw: Redis) -> None:
    assert await run("acquire_leader", [K.leader], ["a", 60_000]) == 1
    assert await raw.get(K.leader) == "a"
    assert 0 < await raw.pttl(K.leader) <= 60_000
    assert await run("acquire_leader", [K.leader], ["b", 60_000]) == 0
    await raw.pexpire(K.leader, 10_000)
    assert await run("acquire_leader", [K.leader], ["a", 60_000]) == 1  # renewed
    assert await raw.pttl(K.leader) > 10_000
    assert await run("release_leader", [K.leader], ["b"]) == 0
    assert await run("release_leader", [K.leader], ["a"]) == 1
    assert await raw.exists(K.leader) == 0
    assert await run("release_leader", [K.leader], ["a"]) == 0


async def test_finish_discard_counts_nothing(run: Any, raw: Redis) -> None:
    await raw.set(K.worker(W, WQ), "record")
    await raw.sadd(K.working, WID)
    assert await run("finish", _finish_keys(), ["discard", "", WID, "0"]) == 1
    assert await raw.keys("*") == []


async def test_promote_names_the_earliest_due_time_left(run: Any, raw: Redis) -> None:
    # the scheduler sleeps until this time and, when it is already due, reads again
    await _file(raw, A, 101, precise=100.25)
    await _file(raw, B, 101, precise=100.75)
    await _file(raw, C, 105)  # foreign: due at its whole second
    assert await run("promote", *_promote_call(101, 100.5, (A, "q"), (B, "q"))) == [1, "100.75"]
    assert await run("promote", *_promote_call(101, 101.0, (B, "q"))) == [1, "105"]
    assert await run("promote", *_promote_call(105, 105.0, (C, "q"))) == [1, ""]


async def test_promote_takes_the_first_copy_and_keeps_the_order(run: Any, raw: Redis) -> None:
    for payload in (A, B, A, C):
        await _file(raw, payload, 100)
    assert (await run("promote", *_promote_call(100, 100.0, (A, "q"))))[0] == 1
    assert await raw.lrange(K.delayed(100), 0, -1) == [B, A, C]
    assert await raw.smembers(K.timestamps(A)) == {"delayed:100"}  # its other copy


async def test_promote_with_a_guard_moves_nothing_when_an_earlier_job_exists(
    run: Any, raw: Redis
) -> None:
    # the caller read B ahead (due 100.5); A was filed since, due before it
    await _file(raw, B, 101, precise=100.5)
    keys, args = _promote_call(101, 100.6, (B, "q"))
    args[4] = "100.5"
    assert await run("promote", keys, args) == [1, ""]  # nothing earlier: it moves
    await _file(raw, B, 101, precise=100.5)
    await _file(raw, A, 100)
    assert await run("promote", keys, args) == [0, "100"]
    assert await raw.llen(K.queue("q")) == 1 and await raw.llen(K.delayed(101)) == 1
