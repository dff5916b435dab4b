"""Helpers for testing applications that use stellar.

* :class:`FakeClock` — a controllable clock: pass it as ``App(..., clock=clock)`` and move
  time with :meth:`FakeClock.advance` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time


class FakeClock:
    """A clock that only moves when told to. ``sleep`` yields to the loop and advances."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.mono = 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)
