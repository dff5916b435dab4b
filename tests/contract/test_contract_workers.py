"""Workers: registration, pings, working-on records, finish, release and clean-up."""

from __future__ import annotations

from stellar.backends import Backend, WorkerRecord

from .payloads import failure, job

W, WQ = "host:1+1", "q,r"


async def claim(backend: Backend, payload: str, queue: str = "q", worker: str = W) -> str:
    """Push ``payload`` and let ``worker`` claim it; returns the working-on record."""
    await backend.push(queue, [payload])
    claimed = await backend.claim([queue], worker, WQ, 1_000.0)
    assert claimed is not None and claimed.payload == payload
    return claimed.record


async def test_register_and_ping(backend: Backend) -> None:
    assert await backend.workers() == {}
    assert await backend.worker_records() == []
    await backend.register_worker(W, WQ, 1_000.0)
    await backend.register_worker("host:1+2", "*", 1_001.0)
    assert await backend.workers() == {W: WQ, "host:1+2": "*"}
    await backend.ping_worker(W, WQ, 1_005.0)
    records = sorted(await backend.worker_records(), key=lambda r: r.name)
    assert records == [
        WorkerRecord(name=W, queues=WQ, started=1_000.0, ping=1_005.0, working_on=None),
        WorkerRecord(name="host:1+2", queues="*", started=1_001.0, ping=1_001.0, working_on=None),
    ]


async def test_worker_times_are_whole_seconds_rounded_half_up(backend: Backend) -> None:
    await backend.register_worker(W, WQ, 1_000.4)
    [info] = await backend.worker_records()
    assert (info.started, info.ping) == (1_000, 1_000)
    await backend.ping_worker(W, WQ, 1_010.5)
    [info] = await backend.worker_records()
    assert (info.started, info.ping) == (1_000, 1_011)


async def test_worker_records_show_the_working_on_record(backend: Backend) -> None:
    await backend.register_worker(W, WQ, 1_000.0)
    record = await claim(backend, job())
    [info] = await backend.worker_records()
    assert info.working_on == record
    assert await backend.working_on(W, WQ) == record


async def test_unregister_removes_the_worker_and_its_own_stats(backend: Backend) -> None:
    other = "host:2+1"
    await backend.register_worker(W, WQ, 1_000.0)
    await backend.register_worker(other, WQ, 1_000.0)
    await claim(backend, job())
    await backend.incr_stats(
        {"processed": 3, f"processed:{W}": 2, f"failed:{W}": 1, f"processed:{other}": 1}
    )
    await backend.unregister_worker(W, WQ)
    assert await backend.workers() == {other: WQ}
    assert await backend.working_on(W, WQ) is None
    assert [r.name for r in await backend.worker_records()] == [other]
    assert await backend.stats() == {"processed": 3, f"processed:{other}": 1}
    # registering again starts from scratch
    await backend.register_worker(W, WQ, 2_000.0)
    [mine] = [r for r in await backend.worker_records() if r.name == W]
    assert (mine.started, mine.ping, mine.working_on) == (2_000.0, 2_000.0, None)


async def test_finish_success_counts_processed(backend: Backend) -> None:
    await claim(backend, job())
    await backend.finish(W, WQ)
    assert await backend.working_on(W, WQ) is None
    assert await backend.stats() == {"processed": 1, f"processed:{W}": 1}
    assert await backend.failed_count() == 0
    await claim(backend, job())
    await backend.finish(W, WQ)
    assert await backend.stats() == {"processed": 2, f"processed:{W}": 2}


async def test_finish_failure_appends_the_record_and_counts_failed(backend: Backend) -> None:
    await claim(backend, job())
    await backend.finish(W, WQ, failure=failure(1))
    await claim(backend, job())
    await backend.finish(W, WQ, failure=failure(2))
    assert await backend.working_on(W, WQ) is None
    assert await backend.failed() == [failure(1), failure(2)]
    assert await backend.stats() == {"failed": 2, f"failed:{W}": 2}


async def test_finish_reschedules_the_periodic_job(backend: Backend) -> None:
    payload = job("tick", "q")
    await claim(backend, payload)
    # the job this worker is finishing does not count as a running copy
    await backend.finish(W, WQ, reschedule=("tick", "q", payload, 500.5))
    assert await backend.scheduled_at(payload) == [501]
    assert await backend.working_on(W, WQ) is None
    assert await backend.stats() == {"processed": 1, f"processed:{W}": 1}


async def test_finish_skips_the_reschedule_when_a_copy_exists(backend: Backend) -> None:
    payload = job("tick", "q")
    await claim(backend, payload)
    await backend.push("q", [payload])
    await backend.finish(W, WQ, failure=failure(1), reschedule=("tick", "q", payload, 500.0))
    assert await backend.delayed_count() == 0
    assert await backend.queued("q") == [payload]
    assert await backend.failed() == [failure(1)]
    assert await backend.working_on(W, WQ) is None


async def test_finish_skips_the_reschedule_of_a_stopped_task(backend: Backend) -> None:
    payload = job("tick", "q")
    await claim(backend, payload)
    await backend.stop_recurrent("tick")
    await backend.finish(W, WQ, reschedule=("tick", "q", payload, 500.0))
    assert await backend.delayed_count() == 0
    assert await backend.working_on(W, WQ) is None
    assert await backend.stats() == {"processed": 1, f"processed:{W}": 1}


async def test_finish_discard_drops_the_record_and_counts_nothing(backend: Backend) -> None:
    payload = job("tick", "q")
    await claim(backend, payload)
    await backend.finish(
        W, WQ, failure=failure(1), reschedule=("tick", "q", payload, 500.0), discard=True
    )
    assert await backend.working_on(W, WQ) is None
    assert await backend.stats() == {}
    assert await backend.failed_count() == 0
    assert await backend.delayed_count() == 0
    assert await backend.length("q") == 0


async def test_release_puts_the_job_back_at_the_head_once(backend: Backend) -> None:
    a, b, c = job(params=1), job(params=2), job(params=3)
    await backend.push("q", [a, b])
    claimed = await backend.claim(["q"], W, WQ, 1.0)
    assert claimed is not None and claimed.payload == a
    await backend.push("q", [c])
    assert await backend.release(W, WQ, claimed.record) is True
    assert await backend.queued("q") == [a, b, c]
    assert await backend.working_on(W, WQ) is None
    assert await backend.release(W, WQ, claimed.record) is False
    assert await backend.queued("q") == [a, b, c]


async def test_release_refuses_a_record_that_changed(backend: Backend) -> None:
    first = await claim(backend, job(params=1))
    await backend.finish(W, WQ)
    second = await claim(backend, job(params=2))
    assert await backend.release(W, WQ, first) is False
    assert await backend.working_on(W, WQ) == second
    assert await backend.length("q") == 0
    assert await backend.release("host:9+9", WQ, second) is False
    assert await backend.working_on(W, WQ) == second


async def test_clean_worker_refuses_when_the_record_changed(backend: Backend) -> None:
    await backend.register_worker(W, WQ, 1_000.0)
    await backend.incr_stats({f"processed:{W}": 1})
    record = await claim(backend, job())
    for expected in (None, record + " ", "{}"):
        assert await backend.clean_worker(W, WQ, expected=expected, failure=failure(1)) is False
    assert await backend.workers() == {W: WQ}
    assert await backend.working_on(W, WQ) == record
    assert await backend.failed_count() == 0
    assert await backend.stats() == {f"processed:{W}": 1}


async def test_clean_worker_with_failure(backend: Backend) -> None:
    await backend.register_worker(W, WQ, 1_000.0)
    await backend.register_worker("host:2+1", "*", 1_000.0)
    record = await claim(backend, job())
    await backend.incr_stats({"processed": 4, f"processed:{W}": 4, f"failed:{W}": 1})
    assert await backend.clean_worker(W, WQ, expected=record, failure=failure(7)) is True
    assert await backend.workers() == {"host:2+1": "*"}
    assert await backend.working_on(W, WQ) is None
    assert [r.name for r in await backend.worker_records()] == ["host:2+1"]
    assert await backend.failed() == [failure(7)]
    assert await backend.stats() == {"processed": 4, "failed": 1}
    assert await backend.length("q") == 0


async def test_clean_worker_with_requeue(backend: Backend) -> None:
    await backend.register_worker(W, WQ, 1_000.0)
    payload, other = job(params=1), job(params=2)
    record = await claim(backend, payload)
    await backend.push("q", [other])
    assert await backend.clean_worker(W, WQ, expected=record, requeue=("q", payload)) is True
    assert await backend.queued("q") == [other, payload]
    assert await backend.workers() == {}
    assert await backend.working_on(W, WQ) is None
    assert await backend.failed_count() == 0
    assert "failed" not in await backend.stats()


async def test_clean_idle_worker(backend: Backend) -> None:
    await backend.register_worker(W, WQ, 1_000.0)
    await backend.incr_stats({f"failed:{W}": 2})
    assert await backend.clean_worker(W, WQ, expected="{}") is False
    assert await backend.workers() == {W: WQ}
    assert await backend.clean_worker(W, WQ, expected=None) is True
    assert await backend.workers() == {}
    assert await backend.worker_records() == []
    assert await backend.stats() == {}
    assert await backend.failed_count() == 0
    # a worker nobody knows is idle: cleaning it is a no-op that succeeds
    assert await backend.clean_worker("host:9+9", "*", expected=None) is True
