"""``rediss://``: an application over TLS, against a private TLS-only redis-server."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import free_port, missing_service
from tests.helpers import FAST, counted, eventually

from stellar import App, BackendUnavailable, Task


@pytest.fixture
def tls_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server that only speaks TLS, with a fresh self-signed certificate."""
    for tool in ("openssl", "redis-server"):
        if shutil.which(tool) is None:
            missing_service(f"{tool} is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key),
         "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    finally:
        server.terminate()
        server.wait(10)


async def test_an_application_runs_jobs_over_tls(tmp_path: Path, tls_url: str) -> None:
    ran: list[Any] = []

    async def record(api: Any, params: Any) -> None:
        ran.append(params)

    t = Task(name="tls.record", description="r", run=record)
    for _ in range(200):  # until the server listens
        try:
            app = App(tmp_path, tasks=[t], env={}, backend=tls_url, **FAST)
            await app.start()
            break
        except BackendUnavailable:
            await asyncio.sleep(0.05)
    else:
        raise AssertionError("the TLS redis-server never answered")
    try:
        await app.api.tasks.enqueue("tls.record", {"secure": True})
        await eventually(lambda: ran)
        await counted(app.api.tasks, {"processed": 1})
    finally:
        await app.stop()
    assert ran == [{"secure": True}]


async def test_plain_redis_url_against_a_tls_port_is_a_clear_error(
    tmp_path: Path, tls_url: str
) -> None:
    plain = tls_url.replace("rediss://", "redis://").split("?")[0]
    await asyncio.sleep(0.3)
    with pytest.raises(BackendUnavailable, match="unreachable"):
        async with App(tmp_path, env={}, backend=plain, processors=False, scheduler=False):
            pass
