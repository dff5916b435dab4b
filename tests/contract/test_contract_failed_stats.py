"""The failed list and the stats counters."""

from __future__ import annotations

from stellar.backends import Backend

from .payloads import failure, job


async def fail(backend: Backend, *records: str) -> None:
    for record in records:
        await backend.finish("w", "q", failure=record)


async def test_failed_pages_oldest_first(backend: Backend) -> None:
    assert await backend.failed_count() == 0
    assert await backend.failed() == []
    records = [failure(n) for n in range(5)]
    await fail(backend, *records)
    assert await backend.failed_count() == 5
    assert await backend.failed() == records
    assert await backend.failed(0, 0) == records[:1]
    assert await backend.failed(1, 2) == records[1:3]
    assert await backend.failed(-2, -1) == records[3:]
    assert await backend.failed(3) == records[3:]
    assert await backend.failed(2, 100) == records[2:]
    assert await backend.failed(4, 1) == []
    assert await backend.failed(5, 9) == []
    assert await backend.failed(-100, -4) == records[:2]
    assert await backend.failed(-1, -2) == []
    assert await backend.failed(1, -2) == records[1:4]


async def test_remove_failed_removes_one_exact_match(backend: Backend) -> None:
    r1, r2 = failure(1), failure(2)
    await fail(backend, r1, r2, r1)
    assert await backend.remove_failed(r1.replace(":", ": ")) == 0
    assert await backend.remove_failed(r1) == 1
    assert await backend.failed() == [r2, r1]
    assert await backend.remove_failed(r1) == 1
    assert await backend.remove_failed(r1) == 0
    assert await backend.failed() == [r2]


async def test_retry_failed_moves_the_job_back_once(backend: Backend) -> None:
    r1, r2 = failure(1), failure(2)
    payload, waiting = job("t", "again", 1), job("t", "again", 2)
    await fail(backend, r1, r2)
    await backend.push("again", [waiting])
    assert await backend.retry_failed(r1, "again", payload) is True
    assert await backend.failed() == [r2]
    assert await backend.queued("again") == [waiting, payload]
    assert await backend.retry_failed(r1, "again", payload) is False
    assert await backend.queued("again") == [waiting, payload]
    assert await backend.failed() == [r2]


async def test_retry_failed_registers_the_queue(backend: Backend) -> None:
    await fail(backend, failure(1))
    assert await backend.retry_failed(failure(1), "fresh", job("t", "fresh"))
    assert await backend.queues() == ["fresh"]
    assert await backend.failed_count() == 0


async def test_stats_count_by_name(backend: Backend) -> None:
    assert await backend.stats() == {}
    await backend.incr_stats({"processed": 2, "processed:host:1+1": 1})
    await backend.incr_stats({"processed": 3, "failed": 1})
    await backend.incr_stats({})
    assert await backend.stats() == {"processed": 5, "processed:host:1+1": 1, "failed": 1}
    await backend.incr_stats({"failed": -1})
    assert (await backend.stats())["failed"] == 0
