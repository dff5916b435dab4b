"""pytest fixtures for applications that use stellar.

Enable them in your top-level ``conftest.py``::

    pytest_plugins = ["stellar.testing.pytest_plugin"]

* ``stellar_root``: the application's root folder (the one with ``stellar.toml``);
  pytest's root directory unless you override the fixture.
* ``stellar_clock``: a :class:`~stellar.testing.FakeClock` for this test.
* ``stellar_app``: a factory of applications on a SQLite file in this test's temporary
  folder and on ``stellar_clock``, running nothing by themselves (see
  :func:`~stellar.testing.make_app`). Use it as ``async with stellar_app() as app:``;
  every application a test makes shares the same file.

The fixtures are plain (not async), so they work with pytest-asyncio and anyio alike.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

from stellar.app import App
from stellar.tasks.definition import Task
from stellar.testing._clock import FakeClock
from stellar.testing._drain import make_app


class AppFactory(Protocol):
    """The type of the ``stellar_app`` fixture."""

    def __call__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        tasks: Sequence[Task] = (),
        **settings: Any,
    ) -> App: ...


@pytest.fixture
def stellar_root(request: pytest.FixtureRequest) -> Path:
    """The application under test; override this fixture to point elsewhere."""
    return Path(request.config.rootpath)


@pytest.fixture
def stellar_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stellar_app(stellar_root: Path, stellar_clock: FakeClock, tmp_path: Path) -> AppFactory:
    database = tmp_path / "stellar-tasks.db"

    def factory(
        root: str | os.PathLike[str] | None = None,
        *,
        tasks: Sequence[Task] = (),
        **settings: Any,
    ) -> App:
        settings.setdefault("clock", stellar_clock)
        settings.setdefault("database", database)
        return make_app(stellar_root if root is None else root, tasks=tasks, **settings)

    return factory
