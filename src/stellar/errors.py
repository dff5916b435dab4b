"""Every error the package raises derives from :class:`StellarError`.

::

    StellarError
    ├── ConfigError              invalid stellar.toml value or environment override
    ├── TaskDefinitionError      invalid task files; lists every problem with file and field
    ├── UnknownTask              a task name that is not registered
    ├── NotPeriodic              recurrent calls on a task without a frequency
    ├── InvalidParams            params that cannot travel as Resque JSON
    ├── InvalidTime              naive datetimes, non-numeric delays
    ├── PayloadError             a payload read from storage that is not a valid job
    ├── JobTimeout               a job ran past its timeout
    ├── NotFound                 management calls on things that are not there
    │   ├── FailedJobNotFound
    │   ├── WorkerNotFound
    │   └── LockNotFound
    ├── DuplicateDelayedJob      the same job is already delayed at that second
    └── BackendError             the storage backend failed
        └── BackendUnavailable   the storage backend cannot be reached
"""

from __future__ import annotations


class StellarError(Exception):
    """Base of every error raised by stellar."""


class ConfigError(StellarError):
    """A configuration value is invalid."""


class TaskDefinitionError(StellarError):
    """One or more task files are invalid.

    ``problems`` holds one ``(file, field, message)`` triple per problem.
    """

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        lines = [f"{len(problems)} invalid task definition(s):"]
        lines += [f"  {file}: {field}: {message}" for file, field, message in problems]
        super().__init__("\n".join(lines))


class UnknownTask(StellarError):
    """The task name is not registered in this application."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown task {name!r}: no task file defines it")


class NotPeriodic(StellarError):
    """A recurrent-task call named a task that has no frequency."""


class InvalidParams(StellarError):
    """Task params that cannot be stored as Resque JSON."""


class InvalidTime(StellarError):
    """A time or delay that cannot be used (naive datetime, not a number)."""


class PayloadError(StellarError):
    """A stored payload is not a valid job; ``raw`` keeps its text."""

    def __init__(self, message: str, raw: str | bytes) -> None:
        self.raw = raw
        super().__init__(message)


class JobTimeout(StellarError):
    """A job ran longer than its timeout."""


class NotFound(StellarError):
    """The record a management call names does not exist."""


class FailedJobNotFound(NotFound):
    """The failed job is no longer in the failed list."""


class WorkerNotFound(NotFound):
    """No worker with that name is registered."""


class LockNotFound(NotFound):
    """No lock with that name exists."""


class DuplicateDelayedJob(StellarError):
    """The same job (task, queue and params) is already delayed at that second."""


class BackendError(StellarError):
    """The storage backend failed."""


class BackendUnavailable(BackendError):
    """The storage backend cannot be reached."""
