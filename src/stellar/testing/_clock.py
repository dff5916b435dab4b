"""A clock that only moves when a test moves it."""

from __future__ import annotations

import asyncio
import datetime as dt
import time


def _seconds(value: float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _timestamp(value: float | dt.datetime) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give it a time zone")
        return value.timestamp()
    return float(value)


class FakeClock:
    """A :class:`~stellar.clock.Clock` for tests: time stands still until
    :meth:`advance` or :meth:`move_to` moves it, so delayed and periodic tasks become due
    exactly when the test says, without sleeping.

    ``start`` is unix seconds or an aware ``datetime`` (default: the real time now).
    ``now`` (wall time) and ``mono`` (monotonic time) move together.
    """

    def __init__(self, start: float | dt.datetime | None = None) -> None:
        self.now = time.time() if start is None else _timestamp(start)
        self.mono = 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def datetime(self) -> dt.datetime:
        """The current fake time as an aware UTC ``datetime``."""
        return dt.datetime.fromtimestamp(self.now, dt.UTC)

    def advance(self, seconds: float | dt.timedelta) -> None:
        """Move time forward by ``seconds`` (or a ``timedelta``)."""
        step = _seconds(seconds)
        if step < 0:
            raise ValueError(f"a clock only moves forward: advance({step!r})")
        self.now += step
        self.mono += step

    def move_to(self, when: float | dt.datetime) -> None:
        """Move time forward to ``when`` (unix seconds or an aware ``datetime``)."""
        self.advance(_timestamp(when) - self.now)

    async def sleep(self, seconds: float) -> None:
        """Advance instead of waiting, then let other tasks run once."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock({self.datetime().isoformat()})"
