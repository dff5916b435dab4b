"""The plugin protocol: async hooks around enqueue and perform; a ``before_*`` hook
returning False vetoes.

A plugin is an instance, built with its options, and listed in a task's ``plugins``::

    Task(..., plugins=[JobLock(lock_timeout=600), Retry(retry_limit=3)])

Hooks run in list order:

* ``before_enqueue`` returning False means the job is not written (``enqueue`` returns
  False); ``after_enqueue`` runs once it is written.
* ``before_perform`` returning False means the job is dropped without running and without
  stats (a plugin that wants it to run later, like JobLock, re-enqueues it itself).
* ``after_perform`` sees ``ctx.error`` (None on success) and may clear it (the job then
  counts as a success) or replace it. It runs after every attempt that got past the
  ``before_perform`` hooks, whether the job succeeded, raised or timed out.
* ``after_interrupt`` runs instead of ``after_perform`` for a plugin whose
  ``before_perform`` let the job through when the job then does not run to the end here:
  a later plugin vetoed it, shutdown interrupted it (it goes back to the head of its
  queue), or the backend failed before it started. It gives back what ``before_perform``
  took (JobLock releases its lock). Plugins that take nothing need not define it.

Plugin instances are shared by every job of a task (and by every worker of a process):
keep per-job state in ``ctx.extra``, never on ``self``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from stellar.backends.protocol import Backend
from stellar.clock import Clock
from stellar.events import Event, EventKind, Events
from stellar.job import Job


@dataclass
class PluginContext:
    """What a hook sees: the job, where it goes, and the backend to act on."""

    job: Job
    backend: Backend
    clock: Clock
    worker: str | None = None
    error: BaseException | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    events: Events | None = None

    @property
    def task(self) -> str:
        return self.job.task

    @property
    def queue(self) -> str:
        return self.job.queue

    @property
    def args(self) -> tuple[Any, ...]:
        return self.job.args

    def emit(self, kind: EventKind, **detail: Any) -> None:
        """Report ``kind`` about this job to the application's event subscribers."""
        if self.events:
            self.events.emit(
                Event(
                    kind=kind, time=self.clock.time(), worker=self.worker, queue=self.queue,
                    job=self.job, error=self.error, detail=detail,
                )
            )  # fmt: skip


class Plugin:
    """Base class with no-op hooks. Subclasses override what they need."""

    async def before_enqueue(self, ctx: PluginContext) -> bool:
        return True

    async def after_enqueue(self, ctx: PluginContext) -> None:
        return None

    async def before_perform(self, ctx: PluginContext) -> bool:
        return True

    async def after_perform(self, ctx: PluginContext) -> None:
        return None

    async def after_interrupt(self, ctx: PluginContext) -> None:
        return None

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({options})"


async def run_before(
    plugins: Sequence[Plugin], hook: Literal["enqueue", "perform"], ctx: PluginContext
) -> bool:
    """Run the ``before_<hook>`` hooks in order; stop at the first veto."""
    for plugin in plugins:
        method = plugin.before_enqueue if hook == "enqueue" else plugin.before_perform
        if not await method(ctx):
            return False
    return True


async def run_after(
    plugins: Sequence[Plugin], hook: Literal["enqueue", "perform"], ctx: PluginContext
) -> None:
    """Run the ``after_<hook>`` hooks in order."""
    for plugin in plugins:
        method = plugin.after_enqueue if hook == "enqueue" else plugin.after_perform
        await method(ctx)
