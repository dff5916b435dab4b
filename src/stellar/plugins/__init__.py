"""Plugins: hooks around enqueue and perform, with node-resque's semantics.

Built in: :class:`JobLock`, :class:`QueueLock`, :class:`DelayQueueLock`, :class:`Retry`,
:class:`Noop`. A custom plugin subclasses :class:`Plugin` and overrides the hooks it needs.
"""

from stellar.plugins.base import Plugin, PluginContext, run_after, run_before
from stellar.plugins.locks import DelayQueueLock, JobLock, QueueLock
from stellar.plugins.retry import Noop, Retry

__all__ = [
    "DelayQueueLock",
    "JobLock",
    "Noop",
    "Plugin",
    "PluginContext",
    "QueueLock",
    "Retry",
    "run_after",
    "run_before",
]
