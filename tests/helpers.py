"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

FAST = dict(
    poll_interval=0.02, check_interval=0.02, scheduler_interval=0.05, ping_interval=0.2,
    stuck_worker_timeout=2.0, leader_lock_timeout=1.0, shutdown_timeout=2.0,
)  # fmt: skip


async def eventually(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {check}")
        await asyncio.sleep(interval)


async def counted(tasks: Any, expected: dict[str, int], timeout: float = 10.0) -> None:
    """Wait until the stats show ``expected``. A job's ``run`` returns before its outcome
    is stored, so a test that saw the job run must wait for the counters too."""

    async def check() -> bool:
        stats = await tasks.stats()
        return all(stats.get(name, 0) == value for name, value in expected.items())

    try:
        await eventually(check, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"stats {await tasks.stats()} never showed {expected}") from None
