"""What a task is: a name, a description, a ``run`` function, and how it is scheduled."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from stellar.plugins.base import Plugin

RunFunction = Callable[..., Any]


def _seconds(value: Any) -> Any:
    return value.total_seconds() if isinstance(value, timedelta) else value


@dataclass(frozen=True, eq=False)
class Task:
    """A task definition.

    ``run(api, params)`` may be ``async def`` or a plain function (run in a thread).
    ``frequency`` (seconds or timedelta) > 0 makes the task periodic: the scheduler keeps
    exactly one copy of it in the whole cluster. ``timeout`` (seconds) bounds one run.
    Nothing is checked here; :func:`problems` lists what is wrong, and loading refuses
    an application whose tasks have any.
    """

    name: str
    description: str
    run: RunFunction
    queue: str = "default"
    frequency: float = 0
    timeout: float | None = None
    plugins: Sequence[Plugin] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frequency", _seconds(self.frequency))
        object.__setattr__(self, "timeout", _seconds(self.timeout))
        if isinstance(self.plugins, list):
            object.__setattr__(self, "plugins", tuple(self.plugins))

    @cached_property  # asked for every job run: worked out once
    def periodic(self) -> bool:
        return isinstance(self.frequency, int | float) and self.frequency > 0

    @cached_property
    def is_async(self) -> bool:
        run = self.run
        method = getattr(type(run), "__call__", None)  # noqa: B004 - an async __call__
        return inspect.iscoroutinefunction(run) or inspect.iscoroutinefunction(method)

    def __call__(self, api: Any, params: Any = None) -> Any:
        """Call ``run`` directly (no queue, no plugins): handy in tests."""
        return self.run(api, {} if params is None else params)

    def __repr__(self) -> str:
        return f"Task(name={self.name!r}, queue={self.queue!r}, frequency={self.frequency!r})"


def task(
    *,
    name: str,
    description: str,
    queue: str = "default",
    frequency: float | timedelta = 0,
    timeout: float | timedelta | None = None,
    plugins: Sequence[Plugin] = (),
) -> Callable[[RunFunction], Task]:
    """Decorator: turn ``run`` into a :class:`Task` registered when its file is loaded."""

    def decorate(run: RunFunction) -> Task:
        return Task(
            name=name,
            description=description,
            run=run,
            queue=queue,
            frequency=frequency,  # type: ignore[arg-type]  # converted in __post_init__
            timeout=timeout,  # type: ignore[arg-type]
            plugins=plugins,
        )

    return decorate


def _number_problem(value: Any, what: str, *, allow_zero: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number of seconds (or a timedelta), got {type(value).__name__}"
    if math.isnan(value) or math.isinf(value):
        return f"must be a finite number of seconds, got {value!r}"
    if value < 0 or (value == 0 and not allow_zero):
        return f"must be {'>= 0' if allow_zero else '> 0'} ({what}), got {value!r}"
    return None


def problems(definition: Task) -> list[tuple[str, str]]:
    """Every ``(field, message)`` problem of a definition; empty when it is valid."""
    found: list[tuple[str, str]] = []
    for attr in ("name", "description", "queue"):
        value = getattr(definition, attr)
        if not isinstance(value, str) or not value.strip():
            found.append((attr, f"must be a non-empty string, got {value!r}"))
        elif attr != "description" and (
            value != value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value)
        ):
            found.append((attr, f"must not have control characters or edge spaces: {value!r}"))
    if not callable(definition.run):
        found.append(("run", f"must be a function, got {type(definition.run).__name__}"))
    problem = _number_problem(definition.frequency, "0 means not periodic", allow_zero=True)
    if problem:
        found.append(("frequency", problem))
    if definition.timeout is not None:
        problem = _number_problem(definition.timeout, "seconds", allow_zero=False)
        if problem:
            found.append(("timeout", problem))
    if isinstance(definition.plugins, str | bytes) or not all(
        isinstance(p, Plugin) for p in definition.plugins
    ):
        found.append(("plugins", "must be a list of plugin instances such as JobLock()"))
    return found
