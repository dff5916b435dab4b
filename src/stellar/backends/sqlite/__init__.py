"""The embedded SQLite backend (see :mod:`stellar.backends.sqlite.backend`)."""

from __future__ import annotations

from stellar.backends.sqlite.backend import SqliteBackend

__all__ = ["SqliteBackend"]
