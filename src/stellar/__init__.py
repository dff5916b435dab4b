"""Stellar's task system for Python: normal, delayed and periodic tasks.

::

    from stellar import App, task

    @task(name="email.sendResetPassword", description="Send the reset link")
    async def send_reset_password(api, params): ...

    async with App(".") as app:
        await app.api.tasks.enqueue("email.sendResetPassword", {"to": "a@b.c"})
"""

from stellar.api import Api, Tasks
from stellar.app import App
from stellar.config import Settings
from stellar.errors import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    DuplicateDelayedJob,
    FailedJobNotFound,
    InvalidParams,
    InvalidTime,
    JobTimeout,
    LockNotFound,
    NotFound,
    NotPeriodic,
    PayloadError,
    StellarError,
    TaskDefinitionError,
    UnknownTask,
    WorkerNotFound,
)
from stellar.job import Details, FailedJob, Job, QueueInfo, WorkerInfo, WorkingOn
from stellar.plugins.base import Plugin, PluginContext
from stellar.tasks.definition import Task, task

__version__ = "0.1.0"

__all__ = [
    "Api",
    "App",
    "BackendError",
    "BackendUnavailable",
    "ConfigError",
    "Details",
    "DuplicateDelayedJob",
    "FailedJob",
    "FailedJobNotFound",
    "InvalidParams",
    "InvalidTime",
    "Job",
    "JobTimeout",
    "LockNotFound",
    "NotFound",
    "NotPeriodic",
    "PayloadError",
    "Plugin",
    "PluginContext",
    "QueueInfo",
    "Settings",
    "StellarError",
    "Task",
    "TaskDefinitionError",
    "Tasks",
    "UnknownTask",
    "WorkerInfo",
    "WorkerNotFound",
    "WorkingOn",
    "__version__",
    "task",
]
