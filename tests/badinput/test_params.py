"""Params JSON cannot hold, or another Resque client would mangle, are refused at enqueue
with InvalidParams naming the problem and where it is; nothing is written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from stellar import InvalidParams, Task, UnknownTask
from stellar.backends import Backend
from tests.plugins.rig import Rig


def cyclic_dict() -> dict[str, Any]:
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    return d


def cyclic_list() -> list[Any]:
    items: list[Any] = [1]
    items.append({"back": items})
    return items


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


class Point:
    x = 1


BAD: dict[str, tuple[Any, str]] = {
    "NaN": ({"ratio": float("nan")}, r'params\["ratio"\]: nan is not a JSON number'),
    "infinity": ({"a": [1, float("-inf")]}, r'params\["a"\]\[1\]: -inf is not a JSON number'),
    "cycle in a dict": (cyclic_dict(), r'params\["self"\]: cycle'),
    "cycle through a list": (cyclic_list(), r'params\[1\]\["back"\]: cycle'),
    "datetime": ({"when": dt.datetime(2030, 1, 1)}, r'params\["when"\]: a datetime\.datetime'),
    "set": ({"tags": {"a"}}, r'params\["tags"\]: a builtins\.set is not JSON'),
    "bytes": ({"raw": b"\x00"}, r"a builtins\.bytes is not JSON"),
    "Decimal": ({"price": Decimal("1.10")}, r"a decimal\.Decimal is not JSON"),
    "an object": ({"p": Point()}, r"Point is not JSON"),
    "a function": ({"f": print}, r"builtin_function_or_method is not JSON"),
    "huge integer": ({"id": 2**53}, r"outside ±\(2\*\*53-1\)"),
    "lone surrogate": ({"name": "ab\ud800"}, r"lone surrogate U\+D800"),
    "surrogate in a key": ({"k\udfff": 1}, r"key contains a lone surrogate"),
    "non-string key": ({1: "one"}, r"key 1 \(int\) is not a string"),
    "too deep": (nested(600), r"nested deeper than 500 levels"),
}


@pytest.mark.parametrize("case", list(BAD))
async def test_refused_at_enqueue_naming_the_problem(backend: Backend, case: str) -> None:
    params, pattern = BAD[case]
    rig = Rig(backend, [Task(name="b.t", description="d", run=lambda api, p: None)])
    tasks = rig.tasks
    calls = [
        lambda: tasks.enqueue("b.t", params),
        lambda: tasks.enqueue_in(60, "b.t", params),
        lambda: tasks.enqueue_at(rig.clock.time() + 60, "b.t", params),
        lambda: tasks.enqueue_many("b.t", [{"fine": True}, params]),
    ]
    for call in calls:
        with pytest.raises(InvalidParams, match=pattern):
            await call()
    assert await backend.queues() == []
    assert await backend.timestamps() == []
    assert await backend.locks() == {}


async def test_unknown_task_is_refused_with_its_name_escaped(backend: Backend) -> None:
    rig = Rig(backend, [])
    with pytest.raises(UnknownTask) as caught:
        await rig.tasks.enqueue("evil\n\x1b[31mred")
    assert "'evil\\n\\x1b[31mred'" in str(caught.value)  # repr: no raw control characters
    assert await backend.queues() == []
