"""Malformed and foreign payloads found in a queue: each becomes a failed record that
keeps its raw text, the worker goes on with the next job, and nothing else is lost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stellar import Task
from stellar.backends import Backend
from tests.badinput.conftest import push_raw, raw_list
from tests.plugins.rig import Rig

GOOD = '{"class":"b.ok","queue":"default","args":[{"n":1}]}'

MALFORMED = {
    "not json": ("hello, worker", "not valid JSON"),
    "truncated": ('{"class":"b.ok","queue":"default","args":[{', "not valid JSON"),
    "trailing garbage": (GOOD + " trailing", "not valid JSON"),
    "empty": ("", "not valid JSON"),
    "blank": ("   \n", "not valid JSON"),
    "byte order mark": ("\ufeff" + GOOD, "not valid JSON"),
    "NaN literal": ('{"class":"b.ok","queue":"default","args":[NaN]}', "not valid JSON"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "null": ("null", "not a JSON object"),
    "array": ('[{"class":"b.ok"}]', "not a JSON object"),
    "number": ("42", "not a JSON object"),
    "string": ('"b.ok"', "not a JSON object"),
    "missing class": ('{"queue":"default","args":[{}]}', 'no "class" key'),
    "empty class": ('{"class":"","queue":"default","args":[]}', '"class" must be a non-empty'),
    "class not a string": ('{"class":["b.ok"],"queue":"default","args":[]}', '"class" must'),
    "missing args": ('{"class":"b.ok","queue":"default"}', 'no "args" key'),
    "args not an array": ('{"class":"b.ok","queue":"default","args":"x"}', '"args" must be'),
    "queue not a string": ('{"class":"b.ok","queue":7,"args":[]}', '"queue" must be a string'),
    "unknown class": (
        '{"class":"no.such.task","queue":"default","args":[{}]}',
        "unknown task 'no.such.task'",
    ),  # fmt: skip
    "an import path": (
        '{"class":"os.system","queue":"default","args":["rm -rf /"]}',
        "unknown task 'os.system'",
    ),  # fmt: skip
}


def tasks(ran: list[Any]) -> list[Task]:
    async def ok(api: Any, params: Any) -> None:
        ran.append(params)

    return [Task(name="b.ok", description="the good job after the bad one", run=ok)]


async def drain(rig: Rig, limit: int = 10) -> int:
    worker = await rig.worker()
    n = 0
    while await worker.tick():
        n += 1
        assert n <= limit
    return n


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_payload_fails_with_its_raw_text(backend: Backend, case: str) -> None:
    raw, message = MALFORMED[case]
    ran: list[Any] = []
    rig = Rig(backend, tasks(ran))
    await push_raw(backend, "default", raw)
    await rig.tasks.enqueue("b.ok", {"n": 1})
    assert await drain(rig) == 2
    assert ran == [{"n": 1}], "the worker went on with the next job"
    [failed] = await rig.tasks.failed()
    assert failed.payload_text == raw, "the failed record keeps the raw text"
    assert failed.exception in ("PayloadError", "UnknownTask")
    assert message in failed.error
    assert failed.queue == "default"
    assert await rig.stats() == {"processed": 1, "failed": 1}
    assert await backend.length("default") == 0
    assert [w.working_on for w in await rig.tasks.workers()] == [None]
    # it can be retried as it is (and fails again the same way): nothing is lost
    assert await rig.tasks.retry_and_remove_failed(failed)
    assert await backend.queued("default") == [raw]


async def test_foreign_but_valid_payloads_run(backend: Backend) -> None:
    """Ruby Resque writes no queue key; other clients pass several args or none."""
    seen: list[Any] = []

    async def many(api: Any, *args: Any) -> None:
        seen.append(args)

    rig = Rig(backend, [Task(name="b.many", description="d", run=many)])
    await push_raw(backend, "default", '{"class":"b.many","args":[{"ruby":true}]}')
    await push_raw(backend, "default", '{"args":[1,"two",null],"queue":"default","class":"b.many"}')
    await push_raw(backend, "default", '{"class":"b.many","queue":"default","args":[]}')
    assert await drain(rig) == 3
    assert seen == [({"ruby": True},), (1, "two", None), ({},)]
    assert await backend.failed_count() == 0


async def test_a_10_mb_payload(backend: Backend) -> None:
    ran: list[Any] = []
    rig = Rig(backend, tasks(ran))
    blob = "é" + "x" * (10 * 1024 * 1024)
    # valid: it travels and runs intact
    await rig.tasks.enqueue("b.ok", {"blob": blob})
    # garbage of the same size: a failed record with every byte of it
    garbage = "<" + "y" * (10 * 1024 * 1024)
    await push_raw(backend, "default", garbage)
    await rig.tasks.enqueue("b.ok", {"n": 2})
    assert await drain(rig) == 3
    assert ran == [{"blob": blob}, {"n": 2}]
    [failed] = await rig.tasks.failed()
    assert failed.payload_text == garbage
    assert failed.exception == "PayloadError"


async def test_non_utf8_bytes_in_a_redis_queue(redis_backend: Backend) -> None:
    """Only a Redis queue can hold bytes that are not UTF-8."""
    backend = redis_backend
    ran: list[Any] = []
    rig = Rig(backend, tasks(ran))
    garbage = b"\xff\xfe\x00binary\x80"
    inside = b'{"class":"b.\xffok","queue":"default","args":[{}]}'  # JSON, a bad byte in it
    await push_raw(backend, "default", garbage)
    await push_raw(backend, "default", inside)
    await rig.tasks.enqueue("b.ok", {"n": 3})
    assert await drain(rig) == 3
    assert ran == [{"n": 3}]
    first, second = await rig.tasks.failed()
    assert first.exception == "PayloadError"
    assert second.exception == "UnknownTask"
    # the raw bytes are kept (as surrogate escapes) and come back exactly on a retry
    assert first.payload_text.encode("utf-8", "surrogateescape") == garbage
    assert second.payload_text.encode("utf-8", "surrogateescape") == inside
    assert await rig.tasks.retry_and_remove_failed(first)
    assert await rig.tasks.retry_and_remove_failed(second)
    assert await raw_list(backend, "queue:default") == [garbage, inside]
    # a plain client reads the failed list as JSON (escapes are ASCII)
    assert await backend.failed_count() == 0


async def test_a_bad_payload_between_good_ones_loses_none(backend: Backend) -> None:
    ran: list[Any] = []
    rig = Rig(backend, tasks(ran))
    for n in range(50):
        await rig.tasks.enqueue("b.ok", {"n": n})
        if n % 10 == 5:
            await push_raw(backend, "default", f"broken {n}")
    assert await drain(rig, limit=100) == 55
    assert ran == [{"n": n} for n in range(50)]
    failed = await rig.tasks.failed()
    assert [f.payload_text for f in failed] == [f"broken {n}" for n in (5, 15, 25, 35, 45)]
    records = [json.loads(r) for r in await backend.failed()]
    assert all(r["payload"].startswith("broken") for r in records)  # kept as a JSON string
