"""Batched claims and settles, and the wake-up signals (``claim_many``, ``finish_many``,
``wait_for``): the same results on every backend."""

from __future__ import annotations

import asyncio
import time

import pytest

from stellar.backends import Backend, open_backend
from stellar.backends.protocol import ClaimRequest, Settlement
from stellar.codec import encode_working_on

from .payloads import failure, job

NOW = 1_000.0
A, B, C = job(params=1), job(params=2), job(params=3)


def request(n: int, *queues: str) -> ClaimRequest:
    return ClaimRequest(worker=f"host:1+{n}", worker_queues=",".join(queues), queues=queues)


async def twin(backend: Backend) -> Backend:
    """A second client of the same storage (another process would open the same)."""
    return open_backend(backend.url, namespace=backend.namespace)


async def drain_signals(backend: Backend) -> None:
    """Take any signal left by earlier writes, so that the next wait starts clean."""
    while await backend.wait_for("queued", 0.02) is not None:
        pass
    while await backend.wait_for("delayed", 0.02) is not None:
        pass


# ------------------------------------------------------------------ claim_many


async def test_claim_many_serves_workers_in_order_each_by_its_queue_order(
    backend: Backend,
) -> None:
    await backend.push("q", [A, B])
    await backend.push("r", [C])
    requests = [request(1, "r", "q"), request(2, "q"), request(3, "r", "q"), request(4, "q")]
    claims = await backend.claim_many(requests, NOW)
    assert [(c.queue, c.payload) if c else None for c in claims] == [
        ("r", C), ("q", A), ("q", B), None,
    ]  # fmt: skip
    for req, claim in zip(requests, claims, strict=True):
        record = await backend.working_on(req.worker, req.worker_queues)
        if claim is None:
            assert record is None
        else:
            assert record == claim.record
            assert record == encode_working_on(req.worker, claim.queue, claim.payload, NOW)
    assert await backend.length("q") == 0 and await backend.length("r") == 0


async def test_claim_many_matches_claim(backend: Backend) -> None:
    await backend.push("q", [A, B])
    one = await backend.claim(["q"], "host:1+1", "q", NOW)
    [many] = await backend.claim_many([request(2, "q")], NOW)
    assert one is not None and many is not None
    assert one.record == encode_working_on("host:1+1", "q", A, NOW)
    assert many.record == encode_working_on("host:1+2", "q", B, NOW)


async def test_claim_many_when_idle_or_asked_nothing(backend: Backend) -> None:
    assert await backend.claim_many([], NOW) == []
    assert await backend.claim_many([request(1, "q"), request(2, "q", "r")], NOW) == [None, None]
    assert await backend.working_on("host:1+1", "q") is None
    assert await backend.worker_records() == []


async def test_claimed_jobs_are_released_and_settled_like_single_claims(
    backend: Backend,
) -> None:
    await backend.push("q", [A, B])
    first, second = await backend.claim_many([request(1, "q"), request(2, "q")], NOW)
    assert first is not None and second is not None
    assert await backend.release("host:1+1", "q", first.record)
    assert await backend.queued("q") == [A]
    await backend.finish("host:1+2", "q")
    assert (await backend.stats())["processed"] == 1


# ------------------------------------------------------------------ finish_many


async def test_finish_many_settles_each_worker(backend: Backend) -> None:
    await backend.push("q", [A, B, C])
    workers = [request(n, "q") for n in (1, 2, 3)]
    for w in workers:
        await backend.register_worker(w.worker, w.worker_queues, NOW)
    assert all(await backend.claim_many(workers, NOW))
    await backend.finish_many(
        [
            Settlement("host:1+1", "q"),
            Settlement("host:1+2", "q", failure=failure(1)),
            Settlement("host:1+3", "q", failure=failure(2), discard=True),
        ]
    )
    for w in workers:
        assert await backend.working_on(w.worker, w.worker_queues) is None
    assert await backend.stats() == {
        "processed": 1, "processed:host:1+1": 1, "failed": 1, "failed:host:1+2": 1,
    }  # fmt: skip
    assert await backend.failed() == [failure(1)]


async def test_finish_many_counts_like_finish(backend: Backend) -> None:
    await backend.push("q", [A, B, C])
    for n in (1, 2, 3):
        await backend.claim(["q"], f"host:1+{n}", "q", NOW)
    await backend.finish("host:1+1", "q")
    await backend.finish_many([Settlement("host:1+2", "q"), Settlement("host:1+3", "q")])
    await backend.finish_many([])
    stats = await backend.stats()
    assert stats["processed"] == 3
    assert [stats[f"processed:host:1+{n}"] for n in (1, 2, 3)] == [1, 1, 1]


# ------------------------------------------------------------- finish_and_claim


async def test_finish_and_claim_settles_then_takes_the_next_jobs(backend: Backend) -> None:
    await backend.push("q", [A, B])
    await backend.push("r", [C])
    first = [request(1, "q"), request(2, "r", "q")]
    for w in first:
        await backend.register_worker(w.worker, w.worker_queues, NOW)
    assert [c.payload if c else None for c in await backend.claim_many(first, NOW)] == [A, C]
    settles = [Settlement("host:1+1", "q"), Settlement("host:1+2", "r,q", failure=failure(1))]
    claims = await backend.finish_and_claim(settles, first, NOW + 1)
    # each worker's record now holds its next job: the settle went first
    assert [(c.queue, c.payload) if c else None for c in claims] == [("q", B), None]
    assert await backend.working_on("host:1+1", "q") == encode_working_on(
        "host:1+1", "q", B, NOW + 1
    )
    assert await backend.working_on("host:1+2", "r,q") is None
    assert await backend.stats() == {
        "processed": 1, "processed:host:1+1": 1, "failed": 1, "failed:host:1+2": 1,
    }  # fmt: skip
    assert await backend.failed() == [failure(1)]
    assert await backend.length("q") == 0 and await backend.length("r") == 0


async def test_finish_and_claim_with_nothing_to_claim_only_settles(backend: Backend) -> None:
    await backend.push("q", [A])
    (claim,) = await backend.claim_many([request(1, "q")], NOW)
    assert claim is not None
    assert await backend.finish_and_claim([Settlement("host:1+1", "q")], [], NOW) == []
    assert await backend.working_on("host:1+1", "q") is None
    assert (await backend.stats())["processed"] == 1


# ------------------------------------------------- promote_round with claims


async def test_a_promotion_round_claims_the_jobs_it_moved(backend: Backend) -> None:
    """The claims of a round come after its promotion: idle workers take the jobs that
    just fell due (each in its working-on record), in the order of the requests."""
    await backend.push_delayed(A, NOW - 0.5)
    await backend.push_delayed(B, NOW - 0.2)
    await backend.push_delayed(C, NOW + 60)
    workers = [request(1, "r", "q"), request(2, "q"), request(3, "q")]
    for w in workers:
        await backend.register_worker(w.worker, w.worker_queues, NOW)
    promotion = await backend.promote_round(NOW, claims=workers)
    assert promotion.moved == 2 and promotion.next_due == pytest.approx(NOW + 60)
    assert [(c.queue, c.payload) if c else None for c in promotion.claimed] == [
        ("q", A), ("q", B), None,
    ]  # fmt: skip
    assert await backend.working_on("host:1+1", "r,q") == encode_working_on("host:1+1", "q", A, NOW)
    assert await backend.working_on("host:1+2", "q") == encode_working_on("host:1+2", "q", B, NOW)
    assert await backend.working_on("host:1+3", "q") is None
    assert await backend.length("q") == 0 and await backend.delayed_count() == 1


async def test_a_round_that_moves_nothing_still_claims(backend: Backend) -> None:
    await backend.push("q", [A])
    promotion = await backend.promote_round(NOW, claims=[request(1, "q")])
    assert promotion.moved == 0 and promotion.next_due is None
    assert [c.payload if c else None for c in promotion.claimed] == [A]
    assert (await backend.promote_round(NOW)).claimed == ()  # no claims asked: none made


# --------------------------------------------------------------------- wait_for


async def test_wait_for_times_out_without_a_signal(backend: Backend) -> None:
    await drain_signals(backend)
    started = time.monotonic()
    assert await backend.wait_for("queued", 0.2) is None
    assert 0.15 <= time.monotonic() - started < 2


async def test_a_push_elsewhere_wakes_a_waiter(backend: Backend) -> None:
    await drain_signals(backend)
    other = await twin(backend)
    try:
        waiter = asyncio.create_task(backend.wait_for("queued", 5))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await other.push("q", [A])
        assert await waiter in ("q", "")  # the queue, when the backend can tell
        assert time.monotonic() - started < 1
    finally:
        await other.aclose()


async def test_a_signal_is_kept_for_the_next_wait(backend: Backend) -> None:
    await drain_signals(backend)
    other = await twin(backend)
    try:
        await other.push("q", [A, B])
        await backend.push("q", [C])
        assert await backend.wait_for("queued", 1) is not None
    finally:
        await other.aclose()


async def test_release_retry_and_promotion_signal_queued(backend: Backend) -> None:
    await backend.push("q", [A])
    claimed = await backend.claim(["q"], "host:1+1", "q", NOW)
    assert claimed is not None
    await drain_signals(backend)
    assert await backend.release("host:1+1", "q", claimed.record)
    assert await backend.wait_for("queued", 1) in ("q", "")
    await backend.delete_queue("q")
    await backend.push_delayed(B, NOW)
    await drain_signals(backend)
    assert await backend.promote_due(NOW + 1) == 1
    assert await backend.wait_for("queued", 1) in ("q", "")
    await backend.finish_many([])  # nothing to do: still no error
    record = failure(7)
    await backend.push("q", [C])
    claimed = await backend.claim(["q"], "host:1+1", "q", NOW)
    await backend.finish("host:1+1", "q", failure=record)
    await drain_signals(backend)
    assert await backend.retry_failed(record, "q", C)
    assert await backend.wait_for("queued", 1) in ("q", "")


async def test_an_earliest_delayed_job_signals_delayed(backend: Backend) -> None:
    await drain_signals(backend)
    other = await twin(backend)
    try:
        waiter = asyncio.create_task(backend.wait_for("delayed", 5))
        await asyncio.sleep(0.05)
        assert await other.push_delayed(A, 2_000.5)
        assert await waiter == ""
        await drain_signals(backend)
        assert await other.push_delayed(B, 1_500.25)  # earlier than every other: a signal
        assert await backend.wait_for("delayed", 1) == ""
    finally:
        await other.aclose()


# ---------------------------------------------------------------- wait_and_claim


async def test_wait_and_claim_takes_a_job_that_arrives_while_it_waits(backend: Backend) -> None:
    await drain_signals(backend)
    other = await twin(backend)
    try:
        waiter = asyncio.create_task(backend.wait_and_claim([request(1, "q")], NOW, 5))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await other.push("q", [A])
        signal, [claim] = await waiter
        assert time.monotonic() - started < 1
        assert signal in ("q", "")
        assert claim is not None and claim.payload == A
        assert claim.record == encode_working_on("host:1+1", "q", A, NOW)
        assert await backend.working_on("host:1+1", "q") == claim.record
    finally:
        await other.aclose()


async def test_wait_and_claim_claims_after_a_quiet_wait(backend: Backend) -> None:
    await drain_signals(backend)
    assert await backend.wait_and_claim([request(1, "q")], NOW, 0.1) == (None, [None])
    await backend.push("q", [A, B])
    signal, claims = await backend.wait_and_claim([request(1, "q"), request(2, "q")], NOW, 1)
    assert signal is not None
    assert [c.payload if c else None for c in claims] == [A, B]
    assert await backend.wait_and_claim([], NOW, 0.05) in ((None, []), ("", []))
