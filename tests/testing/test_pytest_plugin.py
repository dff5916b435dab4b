"""The pytest fixtures, used here as a user would, and a user's project run by pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stellar import Task
from stellar.testing import FakeClock, drain
from stellar.testing.pytest_plugin import AppFactory

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "docs" / "examples" / "testing"


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__", ".stellar"))
    return project


@pytest.fixture
def stellar_root(tmp_path: Path) -> Path:  # overrides the plugin's: the application under test
    return copy_project(tmp_path)


async def test_fixtures_give_an_app_on_a_fake_clock(
    stellar_app: AppFactory, stellar_clock: FakeClock, stellar_root: Path, tmp_path: Path
) -> None:
    extra = Task(name="t.extra", description="e", run=lambda api, params: None)
    async with stellar_app(tasks=[extra]) as app:
        assert app.clock is stellar_clock
        assert app.root == stellar_root
        assert app.registry is not None and "shop.confirmOrder" in app.registry
        assert app.settings is not None and str(tmp_path) in app.settings.backend
        await app.api.tasks.enqueue_in(10, "t.extra")
        stellar_clock.advance(10)
        assert (await drain(app, periodic=False)).tasks == ["t.extra"]
    # a second application of the same test shares the file
    async with stellar_app() as again:
        assert (await again.api.tasks.stats())["processed"] == 1


def test_a_users_project_runs_its_tests_with_the_plugin(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STELLAR_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project, env=env | {"PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout
