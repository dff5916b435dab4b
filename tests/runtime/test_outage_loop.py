"""``drive``: backoff while the backend is down, one log line per outage for the whole
process (not per loop, not per attempt), recovery without a restart, and survival of a
tick that raises something unexpected."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from stellar import BackendUnavailable
from stellar.runtime import loop
from stellar.runtime.loop import drive

log = logging.getLogger("test.loop")


class Switch:
    """A tick that fails with BackendUnavailable while ``down``; counts its calls."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0
        self.times: list[float] = []

    async def tick(self) -> float:
        self.calls += 1
        self.times.append(time.monotonic())
        if self.down:
            raise BackendUnavailable("redis at 127.0.0.1:1 is unreachable: refused")
        return 0.01


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


async def test_one_outage_is_logged_once_by_all_loops(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="test.loop")
    stop = asyncio.Event()
    switches = [Switch() for _ in range(4)]
    tasks = [asyncio.create_task(drive(s.tick, stop=stop, log=log, what=f"loop {i}"))
             for i, s in enumerate(switches)]  # fmt: skip
    await asyncio.sleep(0.05)
    for s in switches:
        s.down = True
    await asyncio.sleep(0.8)
    calls_while_down = [s.calls for s in switches]
    for s in switches:
        s.down = False
    await asyncio.sleep(1.0)  # every loop retries within its backoff (0.8 s by now)
    stop.set()
    await asyncio.gather(*tasks)
    assert len(lines(caplog, "backend unavailable")) == 1
    [back] = lines(caplog, "backend is back")
    assert back.levelno == logging.WARNING
    assert all(s.calls > n for s, n in zip(switches, calls_while_down, strict=True)), (
        "every loop recovered by itself"
    )


async def test_backoff_doubles_up_to_the_maximum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop, "FIRST_BACKOFF", 0.02)
    monkeypatch.setattr(loop, "MAX_BACKOFF", 0.16)
    stop = asyncio.Event()
    s = Switch()
    s.down = True
    task = asyncio.create_task(drive(s.tick, stop=stop, log=log, what="one"))
    await asyncio.sleep(0.9)
    stop.set()
    await task
    gaps = [b - a for a, b in zip(s.times, s.times[1:], strict=False)]
    expected = [0.02, 0.04, 0.08, 0.16, 0.16]
    assert len(gaps) >= len(expected)
    for gap, wait in zip(gaps, expected, strict=False):
        assert wait * 0.9 <= gap < wait + 0.15, (gaps, expected)


async def test_stopping_during_an_outage_does_not_claim_it_ended(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    s = Switch()
    s.down = True
    task = asyncio.create_task(drive(s.tick, stop=stop, log=log, what="one"))
    await asyncio.sleep(0.1)
    stop.set()
    await task
    assert len(lines(caplog, "backend unavailable")) == 1
    assert lines(caplog, "backend is back") == []


async def test_a_late_loop_failing_just_after_recovery_is_the_same_outage(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "OUTAGE_GRACE", 0.3)
    stop = asyncio.Event()
    first, late = Switch(), Switch()
    first.down = True
    a = asyncio.create_task(drive(first.tick, stop=stop, log=log, what="first"))
    await asyncio.sleep(0.1)
    first.down = False
    await asyncio.sleep(0.15)
    late.down = True  # a stale connection fails once more just after the outage
    b = asyncio.create_task(drive(late.tick, stop=stop, log=log, what="late"))
    await asyncio.sleep(0.05)
    late.down = False
    await asyncio.sleep(0.2)
    assert len(lines(caplog, "backend unavailable")) == 1
    # ...but a failure that goes on past the grace period is a new outage, and reported
    late.down = True
    await asyncio.sleep(0.9)
    late.down = False
    await asyncio.sleep(0.9)
    stop.set()
    await asyncio.gather(a, b)
    assert len(lines(caplog, "backend unavailable")) == 2
    assert len(lines(caplog, "backend is back")) == 2


async def test_an_unexpected_error_is_logged_once_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    calls = 0

    async def buggy() -> float:
        nonlocal calls
        calls += 1
        if calls <= 4:
            raise KeyError("bug")
        if calls == 6:
            stop.set()
        return 0.0

    await asyncio.wait_for(drive(buggy, stop=stop, log=log, what="buggy"), 5)
    assert calls == 6
    [error] = lines(caplog, "unexpected error")
    assert error.exc_info is not None and error.exc_info[0] is KeyError
    assert len(lines(caplog, "recovered")) == 1


async def test_wake_cuts_the_wait_short() -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    times: list[float] = []

    async def tick() -> float:
        times.append(time.monotonic())
        if len(times) == 2:
            stop.set()
        return 30.0

    task = asyncio.create_task(drive(tick, stop=stop, log=log, what="w", wake=wake))
    await asyncio.sleep(0.05)
    wake.set()
    await asyncio.wait_for(task, 2)
    assert times[1] - times[0] < 1
