"""The mounting example of docs/dashboard.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "dashboard.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


async def test_the_mounting_example_serves_the_dashboard_under_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (block,) = python_blocks()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STELLAR_DASHBOARD_TOKEN", "doc-token")
    namespace: dict[str, object] = {}
    exec(compile(block, str(DOC), "exec"), namespace)
    host = namespace["app"]
    async with host.router.lifespan_context(host):  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=host)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            assert (await c.get("/tasks/api/overview")).status_code == 200
            r = await c.post("/tasks/api/locks/delete", json={"name": "lock:x"},
                             headers={"Authorization": "Bearer doc-token"})  # fmt: skip
            assert r.status_code == 404  # allowed, and there is no such lock
    assert (tmp_path / ".stellar" / "tasks.db").exists()
