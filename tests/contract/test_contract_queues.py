"""Queues: push, order, ranges, removal and claiming."""

from __future__ import annotations

from stellar.backends import Backend, Claimed
from stellar.codec import decode_working_on

from .payloads import job

A, B, C, D, E = (job(params={"n": n}) for n in range(5))


async def test_push_appends_in_order_and_registers_the_queue(backend: Backend) -> None:
    await backend.push("q", [A, B])
    await backend.push("q", [C])
    assert await backend.queued("q") == [A, B, C]
    assert await backend.length("q") == 3
    assert await backend.queues() == ["q"]


async def test_push_of_nothing_registers_the_queue(backend: Backend) -> None:
    await backend.push("q", [])
    assert await backend.queues() == ["q"]
    assert await backend.length("q") == 0


async def test_payloads_are_stored_verbatim(backend: Backend) -> None:
    odd = job(params={"text": 'héllo ☃ \U0001f600 \\ " \n', "n": 1e-7, "big": "x" * 10_000})
    await backend.push("q", [odd, "not json at all", ""])
    assert await backend.queued("q") == [odd, "not json at all", ""]


async def test_unknown_queue_is_empty(backend: Backend) -> None:
    assert await backend.length("nope") == 0
    assert await backend.queued("nope") == []
    assert await backend.queues() == []


async def test_queues_are_sorted_and_stay_known_when_empty(backend: Backend) -> None:
    await backend.push("b", [A])
    await backend.push("a", [B])
    await backend.push("c", [C])
    assert await backend.claim(["b"], "w", "b", 1.0) is not None
    assert await backend.length("b") == 0
    assert await backend.queues() == ["a", "b", "c"]


async def test_queued_ranges_follow_lrange(backend: Backend) -> None:
    await backend.push("q", [A, B, C, D, E])
    assert await backend.queued("q") == [A, B, C, D, E]
    assert await backend.queued("q", 0, 0) == [A]
    assert await backend.queued("q", 1, 2) == [B, C]
    assert await backend.queued("q", -2, -1) == [D, E]
    assert await backend.queued("q", -2) == [D, E]
    assert await backend.queued("q", 1, -2) == [B, C, D]
    assert await backend.queued("q", -100, 1) == [A, B]
    assert await backend.queued("q", 3, 100) == [D, E]
    assert await backend.queued("q", 4, 2) == []
    assert await backend.queued("q", 5, 10) == []
    assert await backend.queued("q", 0, -6) == []
    assert await backend.queued("q", -100, -4) == [A, B]
    assert await backend.queued("q", -100, -6) == []
    assert await backend.queued("q", -1, -2) == []
    assert await backend.queued("q", -3, 3) == [C, D]


async def test_remove_first_count_from_the_head(backend: Backend) -> None:
    await backend.push("q", [A, B, A, C, A, A])
    assert await backend.remove("q", A, 1) == 1
    assert await backend.queued("q") == [B, A, C, A, A]
    assert await backend.remove("q", A, 2) == 2
    assert await backend.queued("q") == [B, C, A]


async def test_remove_negative_count_from_the_tail(backend: Backend) -> None:
    await backend.push("q", [A, B, A, C, A])
    assert await backend.remove("q", A, -2) == 2
    assert await backend.queued("q") == [A, B, C]
    assert await backend.remove("q", A, -5) == 1
    assert await backend.queued("q") == [B, C]


async def test_remove_zero_removes_all_exact_matches(backend: Backend) -> None:
    spaced = A.replace(":", ": ")
    assert spaced != A
    await backend.push("q", [A, B, A, spaced, A])
    assert await backend.remove("q", A) == 3
    assert await backend.queued("q") == [B, spaced]
    assert await backend.remove("q", A, 0) == 0
    assert await backend.remove("other", B) == 0
    assert await backend.queued("q") == [B, spaced]


async def test_delete_queue_drops_jobs_and_name_but_not_delayed(backend: Backend) -> None:
    await backend.push("q", [A, B])
    await backend.push("keep", [C])
    assert await backend.push_delayed(D, 100.0)
    assert await backend.delete_queue("q") == 2
    assert await backend.queues() == ["keep"]
    assert await backend.length("q") == 0
    assert await backend.delayed_at(100) == [D]
    assert await backend.delete_queue("q") == 0


async def test_claim_takes_the_head_of_the_first_non_empty_queue(backend: Backend) -> None:
    low, high1, high2 = job("t", "low"), job("t", "high", 1), job("t", "high", 2)
    await backend.push("low", [low])
    await backend.push("high", [high1, high2])
    order = ["empty", "high", "low"]
    got = [await backend.claim(order, "w", "high,low", 5.0) for _ in range(4)]
    assert [(c.queue, c.payload) if c else None for c in got] == [
        ("high", high1),
        ("high", high2),
        ("low", low),
        None,
    ]
    assert await backend.length("high") == await backend.length("low") == 0


async def test_claim_stores_the_working_on_record(backend: Backend) -> None:
    payload = job("email.send", "mail", {"to": "a@b.c"})
    await backend.push("mail", [payload])
    claimed = await backend.claim(["mail"], "host:1+1", "mail", 1_700_000_000.5)
    assert isinstance(claimed, Claimed)
    assert claimed.payload == payload
    assert claimed.queue == "mail"
    assert await backend.working_on("host:1+1", "mail") == claimed.record
    record = decode_working_on(claimed.record)
    assert record.worker == "host:1+1"
    assert record.queue == "mail"
    assert record.payload_text == payload
    assert record.job is not None and record.job.task == "email.send"
    assert await backend.working_on("host:1+1", "other") is None
    assert await backend.working_on("host:2+1", "mail") is None


async def test_claim_on_empty_queues_changes_nothing(backend: Backend) -> None:
    assert await backend.claim(["q", "r"], "w", "q,r", 1.0) is None
    assert await backend.claim([], "w", "*", 1.0) is None
    assert await backend.working_on("w", "q,r") is None
    assert await backend.queues() == []
