"""The one driver every loop uses: call ``tick()``, wait what it asks, survive outages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from stellar.errors import BackendError

MAX_BACKOFF = 5.0


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


async def drive(
    tick: Callable[[], Awaitable[float]],
    *,
    stop: asyncio.Event,
    log: logging.Logger,
    what: str,
    wake: asyncio.Event | None = None,
) -> None:
    """Run ``tick`` until ``stop`` is set. ``tick`` returns how long to wait before the
    next call (``wake`` cuts the wait short). While the backend is down the loop backs
    off exponentially up to 5 s and logs once when the outage starts and once when it
    ends, not on every attempt."""
    backoff = 0.0
    while not stop.is_set():
        try:
            delay = await tick()
        except BackendError as exc:
            if backoff == 0:
                log.error("%s: backend unavailable, retrying until it is back: %s", what, exc)
            backoff = min(MAX_BACKOFF, backoff * 2 or 0.05)
            await wait_event(stop, backoff)
            continue
        if backoff:
            log.warning("%s: backend is back", what)
            backoff = 0.0
        if delay > 0:
            if wake is not None:
                waiter = asyncio.ensure_future(wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait(
                        {waiter, stopper}, timeout=delay, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    waiter.cancel()
                    stopper.cancel()
                wake.clear()
            else:
                await wait_event(stop, delay)
