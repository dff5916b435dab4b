"""The ``backend`` fixture: every contract test runs once per storage backend.

* ``sqlite``: a :class:`~stellar.backends.sqlite.SqliteBackend` on a fresh file.
* ``redis``: ``open_backend`` on the private redis-server of ``tests/conftest.py``.
* ``redis-cluster``: ``open_backend("redis+cluster://...")`` with the hash-tagged namespace
  ``{resque}`` on a private three-master Redis Cluster (:class:`RedisClusterServers`),
  started once per session and emptied (``FLUSHALL`` on each node) before each test.
  When the Redis backend cannot be imported, or redis-server / redis-cli are missing, the
  Redis cases are skipped on a developer machine and fail under ``CI=true``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from stellar.backends import Backend, open_backend
from stellar.backends.sqlite import SqliteBackend
from tests.conftest import missing_service

CLUSTER_NAMESPACE = "{resque}"


def _redis_backend_missing(exc: ImportError) -> None:
    missing_service(f"the Redis backend cannot be imported: {exc}")


def _free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on 127.0.0.1 right now (all held until all are found)."""
    held: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            held.append(s)
        return [int(s.getsockname()[1]) for s in held]
    finally:
        for s in held:
            s.close()


def _redis_cli(port: int, *args: str, timeout: float = 10) -> str:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)} on port {port}: {done.stderr.strip()}")
    return done.stdout


class RedisClusterServers:
    """A private Redis Cluster of three masters (no replicas) in a temporary directory.

    Each node is ``redis-server --cluster-enabled yes --port P --cluster-port B`` with its
    own ``nodes.conf``; ``redis-cli --cluster create`` spreads the slots over them. Only
    127.0.0.1 is used, and nothing here ever talks to another server.
    """

    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.directory = directory
        self.masters = masters
        ports = _free_ports(2 * masters)
        self.ports, self.bus_ports = ports[:masters], ports[masters:]
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None or shutil.which("redis-cli") is None:
            missing_service("redis-server and redis-cli are needed for a Redis Cluster")
        assert exe is not None
        for port, bus in zip(self.ports, self.bus_ports, strict=True):
            node_dir = self.directory / str(port)
            node_dir.mkdir()
            self.processes.append(subprocess.Popen(
                [
                    exe, "--port", str(port), "--cluster-port", str(bus), "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no",
                    "--dir", str(node_dir),
                ],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
        for port in self.ports:
            self._wait(lambda port=port: _redis_cli(port, "PING").strip() == "PONG")
        _redis_cli(
            self.ports[0], "--cluster", "create",
            *(f"127.0.0.1:{port}" for port in self.ports),
            "--cluster-replicas", "0", "--cluster-yes", timeout=60,
        )  # fmt: skip
        for port in self.ports:
            self._wait(lambda port=port: self._settled(port))

    def _settled(self, port: int) -> bool:
        """The node says the cluster is ok and knows every master with its slots."""
        if "cluster_state:ok" not in _redis_cli(port, "CLUSTER", "INFO"):
            return False
        lines = _redis_cli(port, "CLUSTER", "NODES").splitlines()
        masters = [line for line in lines if "master" in line.split()[2]]
        return len(masters) == self.masters and all(len(m.split()) > 8 for m in masters)

    def _wait(self, ready: object, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():  # type: ignore[operator]
                    return
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the private Redis Cluster did not come up")
            time.sleep(0.05)

    def flush(self) -> None:
        """Empty every node (only ever this private cluster's)."""
        for port in self.ports:
            _redis_cli(port, "FLUSHALL")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    """A private three-master Redis Cluster for the whole session."""
    with tempfile.TemporaryDirectory(prefix="stellar-cluster-") as d:
        cluster = RedisClusterServers(Path(d))
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterServers) -> str:
    """URL of the private cluster, emptied before each test."""
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    store: Backend
    if request.param == "sqlite":
        store = SqliteBackend(f"sqlite:///{tmp_path}/tasks.db", namespace="resque")
    else:
        try:
            from stellar.backends.redis import RedisBackend  # noqa: F401
        except ImportError as exc:
            _redis_backend_missing(exc)
        if request.param == "redis":
            store = open_backend(request.getfixturevalue("redis_url"), namespace="resque")
        else:
            url = request.getfixturevalue("redis_cluster_url")
            store = open_backend(url, namespace=CLUSTER_NAMESPACE)
    try:
        yield store
    finally:
        await store.aclose()
