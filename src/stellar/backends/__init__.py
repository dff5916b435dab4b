"""Storage backends, opened from a URL.

* ``sqlite:///relative/or/absolute/path.db`` (default ``.stellar/tasks.db``): embedded.
* ``redis://[:password@]host:port/db``, ``rediss://`` (TLS), ``unix:///path.sock``: Redis.
* ``redis+cluster://host:port``: a Redis Cluster (use a hash-tagged namespace).
"""

from __future__ import annotations

from pathlib import Path

from stellar.backends.protocol import Backend, Claimed, WorkerRecord
from stellar.errors import ConfigError

__all__ = ["Backend", "Claimed", "WorkerRecord", "open_backend"]


def open_backend(url: str, *, namespace: str = "resque", root: Path | None = None) -> Backend:
    """Create the backend ``url`` names. Connections are made lazily, on first use."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        from stellar.backends.sqlite import SqliteBackend

        return SqliteBackend(url, namespace=namespace, root=root)
    if scheme in ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster"):
        try:
            from stellar.backends.redis import RedisBackend
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError(
                f"backend {url!r} needs the redis client: pip install 'stellar-tasks[redis]'"
            ) from exc
        return RedisBackend(url, namespace=namespace)
    raise ConfigError(
        f"backend {url!r}: unknown scheme {scheme!r} (use sqlite:///path, redis://host:port, "
        "rediss://, unix:///path or redis+cluster://host:port)"
    )
