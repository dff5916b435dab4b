"""Task definitions, loading from an application's modules, and the registry."""

from stellar.tasks.definition import Task, task
from stellar.tasks.loader import load_tasks
from stellar.tasks.registry import Registry

__all__ = ["Registry", "Task", "load_tasks", "task"]
