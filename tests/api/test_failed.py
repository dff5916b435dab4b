"""The failed list: failed_count, failed (paged), remove_failed, retry_and_remove_failed,
find_failed, and the bulk retry_all_failed / remove_all_failed with filters."""

from __future__ import annotations

import re

import pytest

from stellar import App, FailedJob, FailedJobNotFound, PayloadError, PluginContext, Task
from stellar.api import FailedFilter, failed_id
from stellar.backends import Backend
from stellar.plugins.base import Plugin
from tests.api.conftest import AppFactory
from tests.api.helpers import GATE, TASKS, add_failed, failure_record


def store(app: App) -> Backend:
    assert app.backend is not None
    return app.backend


async def fill(app: App, *records: str) -> list[FailedJob]:
    await add_failed(store(app), *records)
    return await app.api.tasks.failed()


def numbered(n: int, **kw: object) -> list[str]:
    return [failure_record("t.echo", {"n": i}, **kw) for i in range(n)]  # type: ignore[arg-type]


async def test_failed_count_and_pages(client: App) -> None:
    tasks = client.api.tasks
    assert await tasks.failed_count() == 0 and await tasks.failed() == []
    records = numbered(7)
    every = await fill(client, *records)
    assert [f.raw for f in every] == records
    assert await tasks.failed_count() == 7
    assert [f.job.params["n"] for f in await tasks.failed(2, 4) if f.job] == [2, 3, 4]
    assert [f.job.params["n"] for f in await tasks.failed(-2) if f.job] == [5, 6]
    assert await tasks.failed(7, 10) == []
    first = every[0]
    assert (first.queue, first.exception, first.error, first.worker) == (
        "default", "ValueError", "boom", "host:1+1",
    )  # fmt: skip
    assert first.failed_at is not None
    pairs = [(i, f.raw) async for i, f in tasks.iter_failed(start=3, page_size=2)]
    assert pairs == list(enumerate(records))[3:]
    odd = [
        i
        async for i, _ in tasks.iter_failed(
            lambda f: f.job is not None and f.job.params["n"] % 2 == 1, page_size=3
        )
    ]
    assert odd == [1, 3, 5]


async def test_remove_failed_removes_one_exact_record(client: App) -> None:
    tasks = client.api.tasks
    twin = failure_record("t.echo", {"n": 1})
    a, b, c = await fill(client, twin, failure_record("t.echo", {"n": 2}), twin)
    assert await tasks.remove_failed(a) is True
    assert [f.raw for f in await tasks.failed()] == [b.raw, twin]
    assert await tasks.remove_failed(c) is True
    assert await tasks.remove_failed(c) is False
    assert [f.raw for f in await tasks.failed()] == [b.raw]


async def test_retry_puts_the_exact_job_back_and_removes_the_record(client: App) -> None:
    tasks = client.api.tasks
    payload = '{"class":"t.other","queue":"other","args":[{"x":1e-7,"big":1e+21,"l":[]}]}'
    [record, keep] = await fill(
        client,
        failure_record(payload=payload, queue="other"),
        failure_record("t.echo", {"n": 1}),
    )
    await tasks.enqueue("t.other", {"first": True})
    assert await tasks.retry_and_remove_failed(record) is True
    assert [j.payload for j in await tasks.queued("other")][-1] == payload  # verbatim, at the tail
    assert await tasks.length("other") == 2
    assert await tasks.failed() == [keep]
    with pytest.raises(FailedJobNotFound, match="not in the failed list"):
        await tasks.retry_and_remove_failed(record)
    assert await tasks.length("other") == 2


async def test_retry_runs_enqueue_plugins_and_a_veto_keeps_it_failed(client: App) -> None:
    tasks = client.api.tasks
    [record] = await fill(client, failure_record("t.gated", {"g": 1}))
    GATE.open = False
    assert await tasks.retry_and_remove_failed(record) is False
    assert await tasks.failed() == [record]
    assert await tasks.length("default") == 0
    GATE.open = True
    assert await tasks.retry_and_remove_failed(record) is True
    assert GATE.after == [record.payload_text]
    assert await tasks.failed_count() == 0


async def test_retry_of_a_record_without_queue_is_refused(client: App) -> None:
    tasks = client.api.tasks
    [record] = await fill(client, failure_record(payload="not json", queue=""))
    assert record.job is None
    with pytest.raises(PayloadError, match="names no queue"):
        await tasks.retry_and_remove_failed(record)
    assert await tasks.failed() == [record]
    assert await tasks.queues() == []


async def test_a_foreign_unreadable_job_is_retried_verbatim(client: App) -> None:
    tasks = client.api.tasks
    [record] = await fill(client, failure_record(payload="{broken", queue="default"))
    assert await tasks.retry_and_remove_failed(record) is True
    assert await client.backend.queued("default") == ["{broken"]  # type: ignore[union-attr]


async def test_find_failed_checks_the_id_and_follows_a_job_that_moved(client: App) -> None:
    tasks = client.api.tasks
    a, b, c = await fill(client, *numbered(3))
    assert re.fullmatch(r"[0-9a-f]{8}", failed_id(c)) and failed_id(c) != failed_id(b)
    assert await tasks.find_failed(2, failed_id(c)) == (2, c)
    assert await tasks.find_failed(1) == (1, b)
    await tasks.remove_failed(a)
    assert await tasks.find_failed(2, failed_id(c)) == (1, c)  # moved up: found by id
    assert await tasks.find_failed(0, failed_id(c)) == (1, c)
    await tasks.remove_failed(c)
    with pytest.raises(FailedJobNotFound, match=f"1:{failed_id(c)} is no longer"):
        await tasks.find_failed(1, failed_id(c))
    with pytest.raises(
        FailedJobNotFound, match="no failed job at index 5: the failed list holds 1"
    ):
        await tasks.find_failed(5)
    with pytest.raises(FailedJobNotFound, match=">= 0"):
        await tasks.find_failed(-1)


@pytest.mark.parametrize("page_size", [1, 2, 500])
async def test_retry_all_failed_with_a_filter(client: App, page_size: int) -> None:
    tasks = client.api.tasks
    records = [
        failure_record("t.echo", {"n": 0}),
        failure_record("t.other", {"n": 1}, queue="other"),
        failure_record("t.echo", {"n": 2}, exception="KeyError"),
        failure_record("t.echo", {"n": 3}),
        failure_record("t.other", {"n": 4}, queue="other", exception="KeyError"),
        failure_record("t.echo", {"n": 5}),
    ]
    await fill(client, *records)
    seen: list[tuple[int, int]] = []
    where = FailedFilter(task="t.e*", exception="ValueError")
    result = await tasks.retry_all_failed(
        where, progress=lambda done, total: seen.append((done, total)), page_size=page_size
    )
    assert (result.examined, result.matched, result.done, result.kept, result.missing) == (
        6, 3, 3, 0, 0,
    )  # fmt: skip
    assert [j.params["n"] for j in await tasks.queued("default")] == [0, 3, 5]  # oldest first
    assert [f.raw for f in await tasks.failed()] == [records[1], records[2], records[4]]
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    assert len(seen) == 1 + -(-6 // page_size)
    result = await tasks.retry_all_failed(FailedFilter(queue="other"))
    assert (result.matched, result.done) == (2, 2)
    assert [j.params["n"] for j in await tasks.queued("other")] == [1, 4]
    assert [f.raw for f in await tasks.failed()] == [records[2]]


async def test_retry_all_failed_keeps_vetoed_jobs_and_goes_on(client: App) -> None:
    tasks = client.api.tasks
    records = [
        failure_record("t.gated", {"n": 0}),
        failure_record("t.echo", {"n": 1}),
        failure_record("t.gated", {"n": 2}),
        failure_record("t.echo", {"n": 3}),
        failure_record(payload="?", queue=""),  # nowhere to retry it
    ]
    await fill(client, *records)
    GATE.open = False
    result = await tasks.retry_all_failed(page_size=2)
    assert (result.matched, result.done, result.kept, result.missing) == (5, 2, 3, 0)
    assert [f.raw for f in await tasks.failed()] == [records[0], records[2], records[4]]
    assert [j.params["n"] for j in await tasks.queued("default")] == [1, 3]


@pytest.mark.parametrize("page_size", [1, 3])
async def test_retry_all_failed_leaves_records_added_meanwhile(
    make_app: AppFactory, page_size: int
) -> None:
    """A retried job that fails again at once is not retried again in the same run."""

    class Racer(Plugin):
        async def before_enqueue(self, ctx: PluginContext) -> bool:
            n = ctx.job.params["n"]
            await add_failed(ctx.backend, failure_record("t.racy", {"n": 100 + n}))
            return True

    racy = Task(name="t.racy", description="fails again", run=lambda api, p: None,
                plugins=[Racer()])  # fmt: skip
    async with make_app([*TASKS, racy], processors=False, scheduler=False) as app:
        tasks = app.api.tasks
        await add_failed(store(app), *[failure_record("t.racy", {"n": n}) for n in range(3)])
        result = await tasks.retry_all_failed(page_size=page_size)
        assert (result.examined, result.matched, result.done, result.missing) == (3, 3, 3, 0)
        assert [f.job.params["n"] for f in await tasks.failed() if f.job] == [100, 101, 102]
        assert [j.params["n"] for j in await tasks.queued("default")] == [0, 1, 2]


async def test_retry_all_failed_counts_records_taken_meanwhile(make_app: AppFactory) -> None:
    class Racer(Plugin):
        async def before_enqueue(self, ctx: PluginContext) -> bool:
            if ctx.job.params["n"] == 0:  # someone else removes record 1 meanwhile
                [raw] = [r for r in await ctx.backend.failed() if '"n":1' in r]
                await ctx.backend.remove_failed(raw)
            return True

    racy = Task(name="t.racy", description="raced", run=lambda api, p: None,
                plugins=[Racer()])  # fmt: skip
    async with make_app([*TASKS, racy], processors=False, scheduler=False) as app:
        tasks = app.api.tasks
        await add_failed(store(app), *[failure_record("t.racy", {"n": n}) for n in range(4)])
        result = await tasks.retry_all_failed(page_size=3)
        assert (result.examined, result.matched, result.done, result.missing) == (4, 4, 3, 1)
        assert await tasks.failed_count() == 0
        assert [j.params["n"] for j in await tasks.queued("default")] == [0, 2, 3]


async def test_remove_all_failed(client: App) -> None:
    tasks = client.api.tasks
    records = numbered(5) + [failure_record("t.other", queue="other", exception="OSError")]
    await fill(client, *records)
    result = await tasks.remove_all_failed(FailedFilter(exception="OS*"), page_size=2)
    assert (result.examined, result.matched, result.done) == (6, 1, 1)
    assert [f.raw for f in await tasks.failed()] == records[:5]
    result = await tasks.remove_all_failed(lambda f: f.job is not None and f.job.params["n"] > 2)
    assert (result.matched, result.done) == (2, 2)
    result = await tasks.remove_all_failed()
    assert (result.examined, result.matched, result.done) == (3, 3, 3)
    assert await tasks.failed_count() == 0
    assert await tasks.queues() == []  # removing never enqueues
    empty = await tasks.remove_all_failed()
    assert (empty.examined, empty.done) == (0, 0)


def test_failed_filter_matching() -> None:
    from stellar.codec import decode_failure

    job = decode_failure(failure_record("email.send", queue="mail", exception="SMTPError"))
    assert FailedFilter()(job)
    assert FailedFilter(task="email.send", queue="mail", exception="SMTPError")(job)
    assert FailedFilter(task="email.*")(job) and FailedFilter(exception="SMTP*")(job)
    assert not FailedFilter(task="Email.send")(job)
    assert not FailedFilter(task="email")(job)
    assert not FailedFilter(queue="default")(job)
    assert not FailedFilter(task="email.send", exception="ValueError")(job)
    unreadable = decode_failure(failure_record(payload="?", queue="mail"))
    assert not FailedFilter(task="*")(unreadable) and FailedFilter(queue="mail")(unreadable)
