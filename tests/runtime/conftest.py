"""The backend the runtime tests run on: a SQLite file and a private Redis (the one
fixture of ``tests/plugins/conftest.py``)."""

from tests.plugins.conftest import backend

__all__ = ["backend"]
