"""stellar.integrations.logging: each job's log records carry its context."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from stellar import Task
from stellar.integrations.logging import JobContextFilter, current_job, instrument
from stellar.testing import drain, make_app


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(JobContextFilter(default="-"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def capture() -> Any:
    handler = Capture()
    logger = logging.getLogger("test.jobs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def test_records_inside_a_job_carry_its_context(tmp_path: Path, capture: Capture) -> None:
    log = logging.getLogger("test.jobs")

    async def in_async(api: Any, params: Any) -> None:
        await asyncio.sleep(0)
        log.info("async %s", params["n"])

    def in_thread(api: Any, params: Any) -> None:  # run in a thread: the context follows
        log.info("thread")

    tasks = [Task(name="log.async", description="a", run=in_async),
             Task(name="log.thread", description="t", run=in_thread, queue="other")]  # fmt: skip
    async with make_app(tmp_path, database=tmp_path / "t.db", tasks=tasks) as app:
        undo = instrument(app)
        await app.api.tasks.enqueue("log.async", {"n": 1})
        await app.api.tasks.enqueue("log.thread")
        await app.api.tasks.enqueue("log.async", {"n": 2})
        log.info("outside")
        await drain(app)
        undo()
        await app.api.tasks.enqueue("log.async", {"n": 3})
        await drain(app)

    seen = [(r.getMessage(), r.stellar_task, r.stellar_queue) for r in capture.records]  # type: ignore[attr-defined]
    assert seen == [
        ("outside", "-", "-"),
        ("async 1", "log.async", "default"),
        ("async 2", "log.async", "default"),
        ("thread", "log.thread", "other"),
        ("async 3", "-", "-"),  # after undo()
    ]
    runs = [r.stellar_run for r in capture.records[1:4]]  # type: ignore[attr-defined]
    assert len(set(runs)) == 3 and all(len(run) == 16 for run in runs)
    assert all(r.stellar_worker.endswith("+drain") for r in capture.records[1:4])  # type: ignore[attr-defined]
    assert current_job() is None


async def test_concurrent_jobs_keep_their_own_context(tmp_path: Path, capture: Capture) -> None:
    log = logging.getLogger("test.jobs")
    both_started = asyncio.Barrier(2)

    async def step(api: Any, params: Any) -> None:
        await both_started.wait()  # both jobs are running at once here
        job = current_job()
        assert job is not None
        log.info("%s", params["n"])

    t = Task(name="log.step", description="s", run=step, timeout=5)
    options = dict(processors=True, min_processors=2, max_processors=2, poll_interval=0.02)
    async with make_app(tmp_path, database=tmp_path / "t.db", tasks=[t], **options) as app:
        instrument(app)
        await app.api.tasks.enqueue("log.step", {"n": 1})
        await app.api.tasks.enqueue("log.step", {"n": 2})
        for _ in range(500):
            if len(capture.records) == 2:
                break
            await asyncio.sleep(0.01)
    workers = {r.getMessage(): r.stellar_worker for r in capture.records}  # type: ignore[attr-defined]
    assert sorted(workers) == ["1", "2"]
    assert workers["1"] != workers["2"]


def test_json_formatting_sees_the_fields() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    JobContextFilter(prefix="job_").filter(record)
    line = json.dumps({k: v for k, v in vars(record).items() if k.startswith("job_")})
    assert json.loads(line) == {"job_task": None, "job_queue": None, "job_worker": None,
                                "job_run": None}  # fmt: skip
