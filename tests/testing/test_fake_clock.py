"""FakeClock: time moves only when the test moves it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from stellar.clock import Clock
from stellar.testing import FakeClock


def test_it_is_a_clock_that_stands_still_until_advanced() -> None:
    clock: Clock = FakeClock(start=1_000_000)
    assert clock.time() == 1_000_000
    assert clock.time() == 1_000_000
    assert isinstance(clock, FakeClock)
    clock.advance(1.5)
    clock.advance(timedelta(minutes=1))
    assert clock.time() == 1_000_061.5
    assert clock.monotonic() == 1061.5


def test_start_and_move_to_take_aware_datetimes() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    clock = FakeClock(start)
    assert clock.datetime() == start
    clock.move_to(start + timedelta(days=1))
    assert clock.datetime() == datetime(2030, 1, 2, tzinfo=UTC)
    assert clock.monotonic() == 1000 + 86400
    assert "2030-01-02" in repr(clock)


def test_default_start_is_now() -> None:
    assert abs(FakeClock().time() - time.time()) < 5


def test_time_never_goes_back() -> None:
    clock = FakeClock(start=100)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.move_to(99)
    with pytest.raises(ValueError, match="time zone"):
        clock.move_to(datetime(2030, 1, 1))


async def test_sleep_advances_instead_of_waiting() -> None:
    clock = FakeClock(start=0)
    started = time.monotonic()
    await clock.sleep(3600)
    assert clock.time() == 3600
    assert time.monotonic() - started < 1
