"""Small helpers the built-in plugins share."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from stellar import codec
from stellar.errors import DuplicateDelayedJob
from stellar.plugins.base import PluginContext

#: How many following seconds a re-enqueue tries when an identical copy of the job is
#: already filed under the second it wanted (Resque files delayed jobs by whole second and
#: keeps one copy of a job per second).
RE_ENQUEUE_SPREAD = 60

LockKey = str | Callable[[PluginContext], str]


def js_round(ts: float) -> int:
    """``Math.round(ts)``: half up, as node-resque computes its unix seconds."""
    return math.floor(ts + 0.5)


def seconds(value: Any, name: str, *, positive: bool = False) -> float:
    """A duration option in seconds (number or timedelta), checked."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds or a timedelta, got {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        limit = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number of seconds {limit}, got {value!r}")
    return float(value)


def whole(value: float) -> int | float:
    """``value`` as an int when it is whole, so it is written as JavaScript would."""
    return int(value) if float(value).is_integer() else value


def lock_value(ctx: PluginContext, timeout: float) -> str:
    """The value node-resque stores in a lock: its expiry, unix seconds (``now + timeout
    + 1``), written as JavaScript writes the number."""
    return codec.dumps(whole(js_round(ctx.clock.time()) + timeout + 1))


def args_json(ctx: PluginContext) -> str:
    """``JSON.stringify(args)``: the args part of node-resque's lock keys."""
    return codec.dumps(list(ctx.args))


def check_key(key: Any) -> LockKey | None:
    if key is None or isinstance(key, str) or callable(key):
        if isinstance(key, str) and not key:
            raise ValueError("key must not be empty")
        return key  # type: ignore[no-any-return]
    raise TypeError(f"key must be a string or a function of the job context, got {key!r}")


def resolve_key(key: LockKey | None, ctx: PluginContext, default: str) -> str:
    if key is None:
        return default
    value = key(ctx) if callable(key) else key
    if not isinstance(value, str) or not value:
        raise TypeError(f"the lock key function returned {value!r}, not a non-empty string")
    return value


async def re_enqueue(ctx: PluginContext, at: float) -> float:
    """File the job's exact payload as a delayed job due at ``at`` (or, when an identical
    copy already waits in that second, in one of the following seconds: a copy is never
    dropped). Returns when it will run. Raises ``DuplicateDelayedJob`` only when
    :data:`RE_ENQUEUE_SPREAD` seconds in a row are all taken."""
    for shift in range(RE_ENQUEUE_SPREAD):
        when = at + shift
        if await ctx.backend.push_delayed(ctx.job.payload, when):
            return when
    raise DuplicateDelayedJob(
        f"{ctx.task} in {ctx.queue!r}: an identical copy is already delayed in each of the "
        f"{RE_ENQUEUE_SPREAD} seconds after {at:.0f}; it was not re-enqueued"
    )


_JS_SPACE = re.compile("[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]")


def drop_first_space(key: str) -> str:
    """``key.replace(/\\s/, "")``: JavaScript removes the *first* whitespace only."""
    return _JS_SPACE.sub("", key, count=1)


def js_trim_empty(text: str) -> bool:
    """``String(x).trim() === ""`` in JavaScript."""
    return _JS_SPACE.sub("", text) == ""
