"""Retry and Noop: node-resque 9's plugins that act on a failed attempt."""

from __future__ import annotations

import inspect
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from stellar import codec
from stellar.plugins._util import (
    drop_first_space,
    js_trim_empty,
    re_enqueue,
    seconds,
    whole,
)
from stellar.plugins.base import Plugin, PluginContext

log = logging.getLogger("stellar.plugins")

#: How much longer than the longest retry delay a retry counter is kept (seconds).
COUNTER_MARGIN = 3600.0


def _js_string(value: Any) -> str:
    """What ``Array.prototype.join`` writes for one element of node-resque's argsKey:
    objects (and null) as JSON, strings as they are, numbers and booleans as JS does."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return codec.dumps(value)


def args_key(args: Sequence[Any]) -> str:
    """node-resque's Retry ``argsKey``: each arg (objects as JSON) joined with ``-``."""
    return "-".join(_js_string(a) for a in args)


def error_text(error: BaseException) -> str:
    """``String(err)`` in JavaScript terms: ``"ValueError: bad value"``."""
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _trace(error: BaseException) -> list[str]:
    lines: list[str] = []
    for chunk in traceback.format_exception(error):
        lines += chunk.rstrip("\n").split("\n")
    return lines


def _local_stamp(ts: float) -> str:
    """``YYYY/MM/DD HH:MM:SS`` in local time, as the Retry plugin writes ``failed_at``."""
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(ts))


class Retry(Plugin):
    """Retry a failed job, later, up to ``retry_limit`` attempts in all.

    ``retry_limit`` counts every attempt, the first included (node-resque's meaning): 1
    means no retry, 3 means up to two retries. After a failed attempt with attempts left,
    the job's exact payload is filed as a delayed job due after ``retry_delay`` seconds,
    or after ``backoff_strategy[n]`` for the n-th failure (0-based; the last entry is
    reused), and the attempt counts as *failed* in the stats but is not added to the
    failed list. The last attempt's failure goes to the failed list as usual.

    The attempt counter (``resque-retry:<task>:<argsKey>``) and the last error
    (``failure-resque-retry:<task>:<argsKey>``) live in the backend's lock storage with a
    time to live; they are not locks and ``locks()`` does not list them. A success clears
    both.
    """

    def __init__(
        self,
        *,
        retry_limit: int = 1,
        retry_delay: float | timedelta = 5.0,
        backoff_strategy: Sequence[float | timedelta] | None = None,
    ) -> None:
        if isinstance(retry_limit, bool) or not isinstance(retry_limit, int) or retry_limit < 1:
            raise ValueError(
                f"retry_limit must be a whole number >= 1 (attempts in all), got {retry_limit!r}"
            )
        self.retry_limit = retry_limit
        self.retry_delay = seconds(retry_delay, "retry_delay")
        if backoff_strategy is None:
            self.backoff_strategy: tuple[float, ...] | None = None
        elif isinstance(backoff_strategy, str | bytes) or not isinstance(
            backoff_strategy, Sequence
        ):
            raise TypeError(
                f"backoff_strategy must be a list of delays in seconds, got {backoff_strategy!r}"
            )
        elif not backoff_strategy:
            raise ValueError("backoff_strategy must not be empty (use None for retry_delay)")
        else:
            self.backoff_strategy = tuple(
                seconds(d, f"backoff_strategy[{i}]") for i, d in enumerate(backoff_strategy)
            )

    # ----------------------------------------------------------------- keys
    def retry_key(self, ctx: PluginContext) -> str:
        # node-resque's key() drops a blank part: no args give "resque-retry:<task>"
        parts = ["resque-retry", ctx.task, args_key(ctx.args)]
        return drop_first_space(":".join(p for p in parts if not js_trim_empty(p)))

    def failure_key(self, ctx: PluginContext) -> str:
        return drop_first_space(f"failure-resque-retry:{ctx.task}:{args_key(ctx.args)}")

    @property
    def max_delay(self) -> float:
        return max([self.retry_delay, *(self.backoff_strategy or ())])

    @property
    def ttl(self) -> float:
        return self.max_delay + COUNTER_MARGIN

    def delay(self, failures: int) -> float:
        """The wait before the next attempt, after ``failures`` failures (1-based)."""
        if self.backoff_strategy is None:
            return self.retry_delay
        return self.backoff_strategy[min(failures - 1, len(self.backoff_strategy) - 1)]

    # ---------------------------------------------------------------- hooks
    async def after_perform(self, ctx: PluginContext) -> None:
        if ctx.error is None:
            await self._cleanup(ctx)
            return
        failures = await self._attempt_up(ctx) + 1
        remaining = self.retry_limit - failures
        await self._save_last_error(ctx, ctx.error)
        if remaining <= 0:
            await self._cleanup(ctx)
            return  # the error stands: the job goes to the failed list
        wait = self.delay(failures)
        at = await re_enqueue(ctx, ctx.clock.time() + wait)
        deltas = {"processed": -1, "failed": 1}
        if ctx.worker is not None:
            deltas |= {f"processed:{ctx.worker}": -1, f"failed:{ctx.worker}": 1}
        await ctx.backend.incr_stats(deltas)
        ctx.emit("job.retry", at=at, attempt=failures, remaining=remaining)
        log.warning(
            "%s in %r failed (%s); retry %d of %d in %.1f s",
            ctx.task, ctx.queue, error_text(ctx.error), failures, self.retry_limit - 1,
            at - ctx.clock.time(),
        )  # fmt: skip
        ctx.error = None  # the worker records a success: processed nets to zero

    async def _attempt_up(self, ctx: PluginContext) -> int:
        """Count one more failure; returns the count before it (0 for the first)."""
        key = self.retry_key(ctx)
        if await ctx.backend.acquire_lock(key, "0", self.ttl):
            return 0
        current = await ctx.backend.get_lock(key)
        try:
            count = int(current) + 1 if current is not None else 0
        except ValueError:
            count = 0
        await ctx.backend.set_lock(key, str(count), self.ttl)
        return count

    async def _save_last_error(self, ctx: PluginContext, error: BaseException) -> None:
        text = error_text(error)
        record = codec.dumps(
            {
                "failed_at": _local_stamp(ctx.clock.time()),
                "payload": list(ctx.args),
                "exception": text,
                "error": text,
                "backtrace": _trace(error),
                "worker": ctx.task,
                "queue": ctx.queue,
            }
        )
        await ctx.backend.set_lock(self.failure_key(ctx), record, self.ttl)

    async def _cleanup(self, ctx: PluginContext) -> None:
        await ctx.backend.delete_lock(self.retry_key(ctx))
        await ctx.backend.delete_lock(self.failure_key(ctx))

    def __repr__(self) -> str:
        strategy = self.backoff_strategy
        backoff = None if strategy is None else [whole(d) for d in strategy]
        return (
            f"Retry(retry_limit={self.retry_limit}, retry_delay={whole(self.retry_delay)!r}, "
            f"backoff_strategy={backoff!r})"
        )


def _log_error(error: BaseException) -> None:
    log.error("ignored by Noop: %s", error_text(error))


class Noop(Plugin):
    """Swallow failures: after a failed attempt, pass the error to ``logger`` (by default
    the ``stellar.plugins`` log) and count the attempt as a success. Nothing reaches the
    failed list. ``logger`` may be a plain or an async function of the exception."""

    def __init__(self, *, logger: Callable[[BaseException], Any] | None = None) -> None:
        if logger is not None and not callable(logger):
            raise TypeError(f"logger must be a function of the exception, got {logger!r}")
        self.logger = logger or _log_error

    async def after_perform(self, ctx: PluginContext) -> None:
        if ctx.error is None:
            return
        error, ctx.error = ctx.error, None
        result = self.logger(error)
        if inspect.isawaitable(result):
            await result
