"""Hostile task names: control characters are refused when tasks are defined; names with
``:``, ``*``, spaces, quotes, unicode or ten thousand characters work everywhere (queues,
delays, locks, failures) because every key and match uses the exact JSON text; and a
payload naming such an unknown task fails with its raw text while the worker goes on."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from stellar import Task, TaskDefinitionError
from stellar.backends import Backend
from stellar.plugins import JobLock, QueueLock
from stellar.tasks.registry import Registry
from tests.badinput.conftest import push_raw
from tests.plugins.rig import Rig

HOSTILE = {
    "colons": "a:b:c",
    "star": "*",
    "a key lookalike": "resque:queue:default",
    "spaces": "send the  mail",
    "quotes and backslashes": 'say "hi" \\ bye',
    "unicode": "ünï©ødé.täsk ✓ 日本 🚀",
    "json lookalike": '{"class":"x"}',
    "very long": "t" * 10_000,
}


@pytest.mark.parametrize(
    "name", ["", "   ", "new\nline", "nul\x00byte", "bell\x07", "esc\x1b[2J", " edge", "del\x7f"]
)
def test_names_with_control_characters_are_refused(name: str) -> None:
    with pytest.raises(TaskDefinitionError) as caught:
        Registry([("modules/x/tasks/bad.py", Task(name=name, description="d", run=print))])
    [(origin, field, _)] = caught.value.problems
    assert origin == "modules/x/tasks/bad.py" and field.endswith(".name")


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_names_work_everywhere(backend: Backend, case: str) -> None:
    name = HOSTILE[case]
    ran: list[Any] = []

    async def run(api: Any, params: Any) -> None:
        ran.append(params)
        if params.get("fail"):
            raise RuntimeError("as asked")

    t = Task(name=name, description="d", run=run, plugins=[QueueLock(), JobLock()])
    rig = Rig(backend, [t])
    tasks = rig.tasks
    params = {"n": 1}
    args = json.dumps([params], separators=(",", ":"))
    assert await tasks.enqueue(name, params)
    assert await tasks.enqueue(name, params) is False  # QueueLock matched the exact name
    assert list(await backend.locks()) == [f"lock:{name}:default:{args}"]
    assert [j.task for j in await tasks.queued("default")] == [name]
    when = await tasks.enqueue_in(3600, name, {"later": True})
    scheduled = await tasks.scheduled_at("default", name, {"later": True})
    assert [d.timestamp() for d in scheduled] == [math.ceil(when.timestamp())]
    assert len(await tasks.delete_delayed("default", name, {"later": True})) == 1
    await tasks.enqueue(name, {"fail": True})
    worker = await rig.worker()
    assert await worker.tick() and await worker.tick()
    assert ran == [params, {"fail": True}]
    [failed] = await tasks.failed()
    assert failed.job is not None and failed.job.task == name
    assert await backend.locks() == {}  # both locks given back
    assert await tasks.delete("default", name, params) == 0
    await tasks.enqueue(name, {"n": 2})
    assert await tasks.delete("default", name, {"n": 2}) == 1


@pytest.mark.parametrize(
    "name", ["evil\nname", "\x1b[31mred\x1b[0m", "nul\x00", "x" * 20_000, "unknown ✓ 🚀"]
)
async def test_a_payload_naming_a_hostile_unknown_task(backend: Backend, name: str) -> None:
    ran: list[Any] = []

    async def ok(api: Any, params: Any) -> None:
        ran.append(params)

    rig = Rig(backend, [Task(name="b.ok", description="d", run=ok)])
    raw = json.dumps({"class": name, "queue": "default", "args": [{}]}, ensure_ascii=False)
    await push_raw(backend, "default", raw)
    await rig.tasks.enqueue("b.ok", {"next": True})
    worker = await rig.worker()
    assert await worker.tick() and await worker.tick()
    assert ran == [{"next": True}]
    [failed] = await rig.tasks.failed()
    assert failed.exception == "UnknownTask"
    assert failed.payload_text == raw
    assert repr(name) in failed.error  # escaped: no raw control characters in the message
