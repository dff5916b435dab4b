"""JobLock, QueueLock and DelayQueueLock: node-resque 9's lock plugins.

Lock keys are node-resque's, relative to the namespace (the backend adds it):
``workerslock:<task>:<queue>:<argsJSON>`` for JobLock and ``lock:<task>:<queue>:<argsJSON>``
for QueueLock, where ``argsJSON`` is ``JSON.stringify(args)`` (for a Stellar task,
``[<params>]``). A lock's value is its expiry in unix seconds, and it also expires by
itself after ``lock_timeout`` seconds, so a node-resque worker sharing the Redis honours
our locks and we honour its.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from stellar.plugins._util import (
    LockKey,
    args_json,
    check_key,
    js_round,
    lock_value,
    re_enqueue,
    resolve_key,
    seconds,
)
from stellar.plugins.base import Plugin, PluginContext

log = logging.getLogger("stellar.plugins")

_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


def _parse_int(value: str | None) -> int | None:
    """``parseInt(value)``; None where JavaScript gives NaN."""
    if value is None:
        return None
    match = _LEADING_INT.match(value)
    return int(match.group(1)) if match else None


class JobLock(Plugin):
    """No two identical jobs (same task, queue and params) *run* at the same time.

    ``before_perform`` takes the lock ``workerslock:<task>:<queue>:<argsJSON>`` (or
    ``key``) for ``lock_timeout`` seconds. If another worker holds it, this copy does not
    run now: with ``re_enqueue`` (the default) it is filed as a delayed job due
    ``enqueue_timeout`` seconds later, otherwise it is dropped. The lock is released
    after the job (``after_perform``), also when it failed or timed out, and when it is
    interrupted.

    ``lock_timeout`` must be longer than the longest run: a lock that expires while its
    job still runs lets a second copy start. ``key`` is a string, or a function of the
    :class:`PluginContext` that returns one.
    """

    def __init__(
        self,
        *,
        lock_timeout: float | timedelta = 3600,
        enqueue_timeout: float | timedelta = 1.001,
        key: LockKey | None = None,
        re_enqueue: bool = True,
    ) -> None:
        self.lock_timeout = seconds(lock_timeout, "lock_timeout", positive=True)
        self.enqueue_timeout = seconds(enqueue_timeout, "enqueue_timeout")
        self.key = check_key(key)
        if not isinstance(re_enqueue, bool):
            raise TypeError(f"re_enqueue must be True or False, got {re_enqueue!r}")
        self.re_enqueue = re_enqueue
        self._held = f"JobLock@{id(self):x}"  # ctx.extra: the key this job took

    def lock_key(self, ctx: PluginContext) -> str:
        return resolve_key(self.key, ctx, f"workerslock:{ctx.task}:{ctx.queue}:{args_json(ctx)}")

    async def before_perform(self, ctx: PluginContext) -> bool:
        key = self.lock_key(ctx)
        value = lock_value(ctx, self.lock_timeout)
        if await ctx.backend.acquire_lock(key, value, self.lock_timeout):
            ctx.extra[self._held] = key
            return True
        if self.re_enqueue:
            at = await re_enqueue(ctx, ctx.clock.time() + self.enqueue_timeout)
            ctx.emit("job.reenqueue", reason="JobLock: already running", lock=key, at=at)
            log.info(
                "%s in %r is already running (lock %s): this copy runs again in %.1f s",
                ctx.task, ctx.queue, key, at - ctx.clock.time(),
            )  # fmt: skip
        else:
            log.info("%s in %r is already running (lock %s): dropped", ctx.task, ctx.queue, key)
        return False

    async def after_perform(self, ctx: PluginContext) -> None:
        key = ctx.extra.pop(self._held, None)
        if key is not None:
            await ctx.backend.delete_lock(key)

    async def after_interrupt(self, ctx: PluginContext) -> None:
        await self.after_perform(ctx)


class QueueLock(Plugin):
    """No two identical jobs (same task, queue and params) *wait in a queue* at once.

    ``before_enqueue`` takes ``lock:<task>:<queue>:<argsJSON>`` (or ``key``) for
    ``lock_timeout`` seconds and refuses the job (``enqueue`` returns False) while the
    lock is held and not past the expiry it records. The lock is released when a worker
    takes the job (``before_perform``, as node-resque 5.1 and later do), so a copy can
    be enqueued while the first one runs.

    Only ``enqueue`` (and ``enqueue_many``, ``retry_and_remove_failed``) run enqueue
    hooks: ``enqueue_at``/``enqueue_in`` and the scheduler moving delayed jobs do not.
    """

    def __init__(
        self, *, lock_timeout: float | timedelta = 3600, key: LockKey | None = None
    ) -> None:
        self.lock_timeout = seconds(lock_timeout, "lock_timeout", positive=True)
        self.key = check_key(key)

    def lock_key(self, ctx: PluginContext) -> str:
        return resolve_key(self.key, ctx, f"lock:{ctx.task}:{ctx.queue}:{args_json(ctx)}")

    async def before_enqueue(self, ctx: PluginContext) -> bool:
        key = self.lock_key(ctx)
        value = lock_value(ctx, self.lock_timeout)
        if await ctx.backend.acquire_lock(key, value, self.lock_timeout):
            return True
        expiry = _parse_int(await ctx.backend.get_lock(key))
        if expiry is not None and js_round(ctx.clock.time()) <= expiry:
            return False
        # a stale lock (node-resque 4 wrote them without a TTL): take it over
        await ctx.backend.set_lock(key, value, self.lock_timeout)
        return True

    async def before_perform(self, ctx: PluginContext) -> bool:
        await ctx.backend.delete_lock(self.lock_key(ctx))
        return True


class DelayQueueLock(Plugin):
    """Refuse to enqueue a job while an identical copy (same task, queue and params) is
    delayed: ``before_enqueue`` vetoes when ``scheduled_at`` finds one. It has no
    options; it does not stop ``enqueue_at``/``enqueue_in`` (they run no plugins)."""

    async def before_enqueue(self, ctx: PluginContext) -> bool:
        return not await ctx.backend.scheduled_at(ctx.job.payload)
