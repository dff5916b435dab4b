"""The pool's scaling rules (node-resque MultiWorker), table-driven, no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from stellar.config import Settings
from stellar.runtime.pool import ProcessorPool
from stellar.tasks.registry import Registry
from stellar.testing import FakeClock


class FakeWorker:
    def __init__(self, busy: bool) -> None:
        self.busy = busy


class FakeSlot:
    def __init__(self, busy: bool) -> None:
        self.worker = FakeWorker(busy)


def pool(n: int, busy: int, lag: float, lo: int = 1, hi: int = 4) -> ProcessorPool:
    p = ProcessorPool(
        backend=None,  # type: ignore[arg-type]  # decide() touches no backend
        registry=Registry(), api=None, clock=FakeClock(),
        settings=Settings(min_processors=lo, max_processors=hi, max_loop_lag=0.05),
    )  # fmt: skip
    p.slots = [FakeSlot(i < busy) for i in range(n)]  # type: ignore[misc]
    p.lag = lag
    return p


@pytest.mark.parametrize(
    ("n", "busy", "lag", "expected", "why"),
    [
        (0, 0, 0.0, "+", "below min"),
        (1, 1, 0.0, "+", "all busy, room to grow"),
        (2, 1, 0.0, "x", "exactly half busy: keep"),
        (3, 2, 0.0, "+", "more than half busy"),
        (4, 4, 0.0, "x", "at max"),
        (3, 1, 0.0, "-", "fewer than half busy"),
        (1, 0, 0.0, "x", "idle but at min"),
        (3, 3, 0.2, "-", "loop lagging: shrink"),
        (1, 1, 0.2, "x", "lagging but at min"),
    ],
)
def test_scaling_decision(n: int, busy: int, lag: float, expected: str, why: Any) -> None:
    assert pool(n, busy, lag).decide() == expected, why
