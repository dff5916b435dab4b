"""Retry and Noop on every backend: retry counters and stats as node-resque 9 keeps them,
delays and backoff that really apply, and nothing lost on the way."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from stellar import Task
from stellar.backends import Backend
from stellar.codec import encode_job
from stellar.plugins import Noop, Retry
from stellar.plugins.retry import args_key
from tests.plugins.rig import Rig

PARAMS = {"to": "a b@c.d"}


class Flaky:
    """Fails its first ``failures`` runs, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0

        async def run(api: Any, params: Any) -> None:
            self.runs += 1
            if self.runs <= self.failures:
                raise ConnectionError(f"attempt {self.runs} failed")

        self.run = run


async def test_retry_re_enqueues_with_the_delay_then_fails_for_good(backend: Backend) -> None:
    body = Flaky(failures=99)
    t = Task(name="r.send", description="d", run=body.run,
             plugins=[Retry(retry_limit=3, retry_delay=30)])  # fmt: skip
    rig = Rig(backend, [t])
    worker = await rig.worker()
    payload = encode_job("r.send", "default", [PARAMS])
    await rig.tasks.enqueue("r.send", PARAMS)
    retry_key = 'resque-retry:r.send:{"to":"ab@c.d"}'  # node drops the first whitespace
    failure_key = 'failure-resque-retry:r.send:{"to":"ab@c.d"}'

    assert await worker.tick()  # attempt 1 fails: retried in 30 s
    assert await backend.scheduled_at(payload) == [math.ceil(rig.clock.time() + 30)]
    assert await backend.failed_count() == 0
    assert await rig.stats() == {"processed": 0, "failed": 1}
    assert await backend.get_lock(retry_key) == "0"
    record = json.loads(await backend.get_lock(failure_key) or "null")
    assert list(record) == ["failed_at", "payload", "exception", "error", "backtrace",
                            "worker", "queue"]  # fmt: skip
    assert record["payload"] == [PARAMS]
    assert record["exception"] == record["error"] == "ConnectionError: attempt 1 failed"
    assert record["worker"] == "r.send" and record["queue"] == "default"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", record["failed_at"])
    assert any("attempt 1 failed" in line for line in record["backtrace"])
    assert await backend.locks() == {}, "retry counters are not locks"
    [retry_event] = rig.kinds("job.retry")
    assert retry_event.detail["attempt"] == 1 and retry_event.detail["remaining"] == 2

    assert not await worker.tick()  # nothing due before 30 s
    rig.clock.advance(29)
    assert await rig.promote() == 0
    rig.clock.advance(2)
    assert await rig.promote() == 1
    assert await worker.tick()  # attempt 2 fails: retried again
    assert await backend.get_lock(retry_key) == "1"
    assert await rig.stats() == {"processed": 0, "failed": 2}

    rig.clock.advance(31)
    assert await rig.promote() == 1
    assert await worker.tick()  # attempt 3 of 3 fails: the failed list, for good
    assert body.runs == 3
    assert await backend.timestamps() == []
    assert await rig.stats() == {"processed": 0, "failed": 3}
    [failed] = await rig.tasks.failed()
    assert failed.job is not None and failed.job.payload == payload
    assert failed.error == "attempt 3 failed"
    assert await backend.get_lock(retry_key) is None
    assert await backend.get_lock(failure_key) is None


async def test_retry_backoff_strategy_and_success_clears_the_counter(backend: Backend) -> None:
    body = Flaky(failures=3)
    t = Task(name="r.send", description="d", run=body.run,
             plugins=[Retry(retry_limit=5, backoff_strategy=[10, 100])])  # fmt: skip
    rig = Rig(backend, [t])
    worker = await rig.worker()
    payload = encode_job("r.send", "default", [{}])
    await rig.tasks.enqueue("r.send")
    waits = []
    for _ in range(3):
        start = rig.clock.time()
        assert await worker.tick()
        [ts] = await backend.scheduled_at(payload)
        waits.append(ts - math.ceil(start))
        rig.clock.advance(ts - rig.clock.time())
        assert await rig.promote() == 1
    assert waits == [10, 100, 100]  # the last entry is reused
    assert await worker.tick()  # the fourth attempt succeeds
    assert body.runs == 4
    assert await backend.get_lock("resque-retry:r.send:{}") is None
    assert await backend.get_lock("failure-resque-retry:r.send:{}") is None
    assert await rig.stats() == {"processed": 1, "failed": 3}
    assert await backend.failed_count() == 0
    per_worker = await backend.stats()
    assert per_worker[f"processed:{worker.name}"] == 1
    assert per_worker[f"failed:{worker.name}"] == 3


async def test_default_retry_limit_means_one_attempt(backend: Backend) -> None:
    body = Flaky(failures=1)
    t = Task(name="r.once", description="d", run=body.run, plugins=[Retry()])
    rig = Rig(backend, [t])
    worker = await rig.worker()
    await rig.tasks.enqueue("r.once")
    assert await worker.tick()
    assert await backend.timestamps() == []
    assert await backend.failed_count() == 1


async def test_retry_delay_zero_retries_at_the_next_scheduler_round(backend: Backend) -> None:
    body = Flaky(failures=1)
    t = Task(name="r.now", description="d", run=body.run,
             plugins=[Retry(retry_limit=2, retry_delay=0)])  # fmt: skip
    rig = Rig(backend, [t])
    worker = await rig.worker()
    await rig.tasks.enqueue("r.now")
    assert await worker.tick()
    rig.clock.advance(1)  # delayed jobs are filed by whole second, rounded up
    assert await rig.promote() == 1
    assert await worker.tick()
    assert body.runs == 2
    assert await backend.failed_count() == 0


async def test_retry_of_identical_jobs_keeps_every_copy(backend: Backend) -> None:
    """Two identical jobs failing in the same second are both retried: a re-enqueue
    never collapses into a copy already delayed in that second."""
    body = Flaky(failures=2)
    t = Task(name="r.twin", description="d", run=body.run,
             plugins=[Retry(retry_limit=3, retry_delay=5)])  # fmt: skip
    rig = Rig(backend, [t])
    worker = await rig.worker()
    await rig.tasks.enqueue("r.twin")
    await rig.tasks.enqueue("r.twin")
    assert await worker.tick() and await worker.tick()
    assert await backend.delayed_count() == 2
    rig.clock.advance(10)
    assert await rig.promote() == 2
    assert await worker.tick() and await worker.tick()
    assert body.runs == 4
    assert await backend.delayed_count() == 0 and await backend.failed_count() == 0


def test_args_key_follows_node_resque() -> None:
    assert args_key([{"a": 1}, [1, 2], "plain text", 3, 1.5, True, None, 1e21]) == (
        '{"a":1}-[1,2]-plain text-3-1.5-true-null-1e+21'
    )
    assert args_key([]) == ""
    plugin = Retry()

    class Ctx:
        task = "t"
        args: tuple[Any, ...] = ()

    assert plugin.retry_key(Ctx()) == "resque-retry:t"  # a blank part is dropped
    assert plugin.failure_key(Ctx()) == "failure-resque-retry:t:"
    Ctx.args = ("x y z",)
    assert plugin.retry_key(Ctx()) == "resque-retry:t:xy z"  # only the first whitespace


def test_retry_options_are_checked() -> None:
    with pytest.raises(ValueError, match="retry_limit"):
        Retry(retry_limit=0)
    with pytest.raises(ValueError, match="retry_delay"):
        Retry(retry_delay=-1)
    with pytest.raises(TypeError, match="backoff_strategy"):
        Retry(backoff_strategy=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        Retry(backoff_strategy=[])
    with pytest.raises(ValueError, match=r"backoff_strategy\[1\]"):
        Retry(backoff_strategy=[1, float("nan")])
    assert repr(Retry(retry_limit=3, backoff_strategy=[1, 2.5])) == (
        "Retry(retry_limit=3, retry_delay=5, backoff_strategy=[1, 2.5])"
    )


# ---------------------------------------------------------------------- Noop
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_noop_swallows_failures_into_its_logger(backend: Backend, kind: str) -> None:
    seen: list[BaseException] = []

    async def alog(exc: BaseException) -> None:
        seen.append(exc)

    logger = seen.append if kind == "sync" else alog

    async def bad(api: Any, params: Any) -> None:
        raise KeyError("missing")

    t = Task(name="n.bad", description="d", run=bad, plugins=[Noop(logger=logger)])
    rig = Rig(backend, [t])
    worker = await rig.worker()
    await rig.tasks.enqueue("n.bad")
    assert await worker.tick()
    assert [type(e) for e in seen] == [KeyError]
    assert await backend.failed_count() == 0
    assert await rig.stats() == {"processed": 1}
    assert [e.kind for e in rig.seen if e.kind.startswith("job.")] == ["job.start", "job.success"]


async def test_noop_default_logger_logs(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    async def bad(api: Any, params: Any) -> None:
        raise ValueError("quietly")

    t = Task(name="n.bad", description="d", run=bad, plugins=[Noop()])
    rig = Rig(backend, [t])
    worker = await rig.worker()
    await rig.tasks.enqueue("n.bad")
    with caplog.at_level("ERROR", logger="stellar.plugins"):
        assert await worker.tick()
    assert "ValueError: quietly" in caplog.text
    assert await backend.failed_count() == 0
