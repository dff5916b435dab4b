"""Delayed jobs: filing under ceil(at), duplicates, listing, removal and promotion."""

from __future__ import annotations

import pytest

from stellar.backends import Backend
from stellar.backends.protocol import Promotion

from .payloads import job

P, R = job("t", "q", {"p": 1}), job("t", "r", {"r": 1})


async def test_timestamp_is_at_rounded_up(backend: Backend) -> None:
    assert await backend.push_delayed(P, 100.2) is True
    assert await backend.push_delayed(P, 100.0) is True
    assert await backend.push_delayed(P, 98.000001) is True
    assert await backend.timestamps() == [99, 100, 101]
    assert await backend.scheduled_at(P) == [99, 100, 101]
    assert await backend.delayed_at(101) == [P]
    assert await backend.delayed_at(100) == [P]
    assert await backend.delayed_count() == 3


async def test_duplicate_in_the_same_second_is_refused(backend: Backend) -> None:
    assert await backend.push_delayed(P, 100.2)
    assert await backend.push_delayed(P, 100.9) is False
    assert await backend.push_delayed(P, 101.0) is False
    assert await backend.delayed_at(101) == [P]
    assert await backend.delayed_count() == 1
    assert await backend.push_delayed(R, 101.0) is True
    assert await backend.delayed_at(101) == [P, R]


async def test_delayed_at_keeps_push_order(backend: Backend) -> None:
    payloads = [job(params={"i": i}) for i in range(5)]
    for p in payloads:
        assert await backend.push_delayed(p, 200)
    assert await backend.delayed_at(200) == payloads
    assert await backend.delayed_at(201) == []


async def test_timestamps_ascending(backend: Backend) -> None:
    assert await backend.timestamps() == []
    for at in (300, 100, 1_000, 200):
        assert await backend.push_delayed(job(params={"at": at}), at)
    assert await backend.timestamps() == [100, 200, 300, 1_000]


async def test_remove_delayed_returns_the_timestamps_it_left(backend: Backend) -> None:
    await backend.push_delayed(P, 200)
    await backend.push_delayed(P, 100)
    await backend.push_delayed(R, 100)
    assert sorted(await backend.remove_delayed(P)) == [100, 200]
    assert await backend.scheduled_at(P) == []
    assert await backend.timestamps() == [100]
    assert await backend.delayed_at(100) == [R]
    assert await backend.remove_delayed(P) == []
    assert await backend.remove_delayed(P.replace(":", ": ")) == []
    assert await backend.delayed_count() == 1


async def test_remove_delayed_at(backend: Backend) -> None:
    await backend.push_delayed(P, 100)
    await backend.push_delayed(R, 100)
    await backend.push_delayed(P, 200)
    assert await backend.remove_delayed_at(100) == 2
    assert await backend.timestamps() == [200]
    assert await backend.scheduled_at(P) == [200]
    assert await backend.scheduled_at(R) == []
    assert await backend.remove_delayed_at(100) == 0
    assert await backend.remove_delayed_at(999) == 0
    # a removed timestamp can be used again
    assert await backend.push_delayed(R, 100)


async def test_remove_all_delayed(backend: Backend) -> None:
    assert await backend.remove_all_delayed() == 0
    await backend.push_delayed(P, 100)
    await backend.push_delayed(R, 100)
    await backend.push_delayed(P, 200)
    assert await backend.remove_all_delayed() == 3
    assert await backend.timestamps() == []
    assert await backend.delayed_count() == 0
    assert await backend.scheduled_at(P) == []
    assert await backend.next_due() is None
    assert await backend.push_delayed(P, 100)


async def test_next_due_is_the_earliest_precise_time(backend: Backend) -> None:
    assert await backend.next_due() is None
    await backend.push_delayed(P, 300)
    assert await backend.next_due() == pytest.approx(300)
    await backend.push_delayed(R, 100.25)
    assert await backend.next_due() == pytest.approx(100.25)
    assert await backend.promote_due(100.25) == 1
    assert await backend.next_due() == pytest.approx(300)


async def test_promote_round_tells_when_the_next_job_is_due(backend: Backend) -> None:
    await backend.push_delayed(P, 100.25)
    await backend.push_delayed(R, 100.5)
    await backend.push_delayed(job("t", "q", {"later": 1}), 300)
    assert await backend.promote_round(100.0) == Promotion(0, pytest.approx(100.25))
    assert await backend.promote_round(100.3) == Promotion(1, pytest.approx(100.5))
    assert await backend.promote_round(100.5) == Promotion(1, pytest.approx(300))
    assert await backend.promote_round(300) == Promotion(1, None)
    assert await backend.promote_round(400) == Promotion(0, None)
    assert await backend.length("q") == 2 and await backend.length("r") == 1


async def test_promote_round_up_to_limit_says_more_is_due(backend: Backend) -> None:
    for n in range(3):
        await backend.push_delayed(job("t", "q", {"n": n}), 100 + n / 10)
    first = await backend.promote_round(200, limit=2)
    assert first.moved == 2 and first.next_due == pytest.approx(100.2)  # due already
    assert await backend.promote_round(200, limit=2) == Promotion(1, None)


async def test_jobs_filed_after_a_round_are_promoted_on_time(backend: Backend) -> None:
    """A round may read ahead (the Redis backend keeps the jobs due within the next
    moments): jobs filed after it, due before or between those, still move on time, and
    a job deleted or promoted elsewhere meanwhile is not moved."""
    early, between, gone = (job("t", "q", {"k": k}) for k in ("early", "between", "gone"))
    planned = [job("t", "q", {"n": n}) for n in range(3)]
    for n, payload in enumerate(planned):
        await backend.push_delayed(payload, 100.01 + n * 0.01)
    await backend.push_delayed(gone, 100.035)
    assert await backend.promote_round(100.0) == Promotion(0, pytest.approx(100.01))
    await backend.push_delayed(early, 100.005)
    await backend.push_delayed(between, 100.015)
    assert await backend.remove_delayed(gone) == [101]
    assert (await backend.promote_round(100.005)).moved == 1  # early
    assert await backend.promote_round(100.01) == Promotion(1, pytest.approx(100.015))
    assert await backend.promote_round(100.015) == Promotion(1, pytest.approx(100.02))
    assert (await backend.promote_round(100.05)).moved == 2
    assert await backend.queued("q") == [early, planned[0], between, *planned[1:]]
    assert await backend.delayed_count() == 0


async def test_promote_due_never_promotes_before_the_precise_time(backend: Backend) -> None:
    await backend.push_delayed(P, 100.2)
    assert await backend.promote_due(100.0) == 0
    assert await backend.promote_due(100.19) == 0
    assert await backend.length("q") == 0
    assert await backend.delayed_count() == 1
    assert await backend.promote_due(100.2) == 1
    assert await backend.queued("q") == [P]
    assert await backend.delayed_count() == 0
    assert await backend.timestamps() == []
    assert await backend.scheduled_at(P) == []
    assert await backend.promote_due(1_000.0) == 0


async def test_promote_due_appends_to_the_tail_of_each_jobs_queue(backend: Backend) -> None:
    first = job("t", "q", {"first": 1})
    await backend.push("q", [first])
    await backend.push_delayed(P, 10)
    await backend.push_delayed(R, 11)
    assert await backend.promote_due(50) == 2
    assert await backend.queued("q") == [first, P]
    assert await backend.queued("r") == [R]
    assert await backend.queues() == ["q", "r"]
    assert await backend.scheduled_at(P) == []


async def test_promote_due_moves_the_earliest_first_up_to_limit(backend: Backend) -> None:
    payloads = {at: job(params={"at": at}) for at in (14, 10, 12, 11, 13)}
    for at, payload in payloads.items():
        await backend.push_delayed(payload, at)
    late = job(params={"late": True})
    await backend.push_delayed(late, 99)
    assert await backend.promote_due(20, limit=2) == 2
    assert await backend.queued("q") == [payloads[10], payloads[11]]
    assert await backend.timestamps() == [12, 13, 14, 99]
    assert await backend.promote_due(20) == 3
    assert await backend.queued("q") == [payloads[at] for at in (10, 11, 12, 13, 14)]
    assert await backend.timestamps() == [99]
    assert await backend.delayed_count() == 1


async def test_promote_due_keeps_the_order_within_a_timestamp(backend: Backend) -> None:
    payloads = [job(params={"i": i}) for i in range(4)]
    for p in payloads:
        await backend.push_delayed(p, 100)
    assert await backend.promote_due(100) == 4
    assert await backend.queued("q") == payloads


async def test_promote_due_splits_a_timestamp_by_precise_time(backend: Backend) -> None:
    late, early = job(params={"late": 1}), job(params={"early": 1})
    await backend.push_delayed(late, 100.9)
    await backend.push_delayed(early, 100.1)
    assert await backend.timestamps() == [101]
    assert await backend.promote_due(100.5) == 1
    assert await backend.queued("q") == [early]
    assert await backend.delayed_at(101) == [late]
    assert await backend.scheduled_at(late) == [101]
    assert await backend.next_due() == pytest.approx(100.9)


async def test_promote_due_sends_a_job_without_a_queue_to_default(backend: Backend) -> None:
    foreign = ['{"queue":"x"}', "not json", '{"class":"t","args":[],"queue":" "}', "[1]"]
    for payload in foreign:
        assert await backend.push_delayed(payload, 10)
    assert await backend.promote_due(10) == 4
    assert await backend.queued("x") == [foreign[0]]
    assert await backend.queued("default") == foreign[1:]
    assert await backend.delayed_count() == 0
