"""The one driver every loop uses: call ``tick()``, wait what it asks, survive outages.

While the backend is down (``BackendError``) every loop backs off on its own, from 50 ms
doubling up to :data:`MAX_BACKOFF`, and recovers by itself when the backend answers
again. The outage is logged once per process, not once per loop nor per attempt: the
first loop to fail reports it, the first loop to get through again reports its end (the
others, still waiting out their backoff, catch up silently). Any other exception from a
tick (a bug) is logged with its traceback once, then the loop backs off the same way
instead of dying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from stellar.errors import BackendError

MAX_BACKOFF = 5.0
FIRST_BACKOFF = 0.05
#: A loop that starts failing this soon after an outage ended is taken to be catching up
#: with that outage (a connection that died with the server fails once more on its first
#: use): it is reported as a new outage only if it goes on for longer than this.
OUTAGE_GRACE = MAX_BACKOFF


@dataclass
class _Outage:
    """The backend outage as this process (event loop) sees it."""

    down: bool = False  # an outage was reported and has not ended
    since: float = 0.0  # when it started (monotonic)
    ended: float = -1e18  # when the last one ended


_OUTAGES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outage] = (
    weakref.WeakKeyDictionary()
)


def _outage() -> _Outage:
    loop = asyncio.get_running_loop()
    state = _OUTAGES.get(loop)
    if state is None:
        state = _OUTAGES[loop] = _Outage()
    return state


def _failing(log: logging.Logger, what: str, exc: BaseException, since: float) -> None:
    """A loop failing since ``since``: report the outage unless it is known already, or
    a loop catching up with one that just ended."""
    state, now = _outage(), time.monotonic()
    if state.down:
        return
    if since - state.ended < OUTAGE_GRACE and now - since <= OUTAGE_GRACE:
        log.debug("%s: backend still unavailable: %s", what, exc)
        return
    state.down, state.since = True, since
    log.error(
        "backend unavailable (%s noticed first): %s; every loop of this process retries "
        "with backoff until it is back",
        what, exc,
    )  # fmt: skip


def _through(log: logging.Logger, what: str) -> None:
    """A loop that was failing got through: the outage (if reported) is over."""
    state = _outage()
    if state.down:
        state.down, state.ended = False, time.monotonic()
        log.warning("backend is back after %.1f s; %s resumed", state.ended - state.since, what)


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True when it was set."""
    if event.is_set():
        return True
    if timeout <= 0:
        return False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
            return True
    return False


class Retrying:
    """Backoff and logging for one loop that keeps trying: :meth:`failed` after a failed
    attempt (returns how long to wait), :meth:`succeeded` after a good one. Backend
    failures join the process-wide outage report; other exceptions are logged with their
    traceback once per streak."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log = log
        self.what = what
        self.backoff = 0.0
        self.failing_since: float | None = None  # backend failures, since when
        self.in_error = False

    def failed(self, exc: BaseException) -> float:
        if isinstance(exc, BackendError):
            self.in_error = False
            if self.failing_since is None:
                self.failing_since = time.monotonic()
            _failing(self.log, self.what, exc, self.failing_since)
        else:
            self.failing_since = None
            if not self.in_error:
                self.in_error = True
                self.log.error(
                    "%s: unexpected error; retrying with backoff", self.what, exc_info=exc
                )
        self.backoff = min(MAX_BACKOFF, self.backoff * 2 or FIRST_BACKOFF)
        return self.backoff

    def succeeded(self) -> None:
        if self.failing_since is not None:
            self.failing_since = None
            _through(self.log, self.what)
        if self.in_error:
            self.in_error = False
            self.log.warning("%s: recovered", self.what)
        self.backoff = 0.0


async def drive(
    tick: Callable[[], Awaitable[float]],
    *,
    stop: asyncio.Event,
    log: logging.Logger,
    what: str,
    wake: asyncio.Event | None = None,
) -> None:
    """Run ``tick`` until ``stop`` is set. ``tick`` returns how long to wait before the
    next call (``wake`` cuts the wait short). A failing tick is retried with exponential
    backoff (50 ms up to 5 s); see the module docstring for what is logged."""
    retrying = Retrying(log, what)
    while not stop.is_set():
        try:
            delay = await tick()
        except Exception as exc:
            await wait_event(stop, retrying.failed(exc))
            continue
        retrying.succeeded()
        if delay > 0:
            await _pause(delay, stop, wake)


async def _pause(delay: float, stop: asyncio.Event, wake: asyncio.Event | None) -> None:
    if wake is None:
        await wait_event(stop, delay)
        return
    waiter = asyncio.ensure_future(wake.wait())
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiter, stopper}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        stopper.cancel()
    wake.clear()
