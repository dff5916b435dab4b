"""Fixtures of the dashboard tests: a client-only application on SQLite, its dashboard,
and an ``httpx`` client that talks to it in-process (as a local visitor)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from stellar import App
from stellar.web import create_app
from tests.web.support import PASSWORD, TOKEN, USERNAME, make_app

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def stellar_app(tmp_path: Path) -> AsyncIterator[App]:
    async with make_app(tmp_path) as app:
        yield app


@pytest.fixture
def dashboard(stellar_app: App) -> Starlette:
    return create_app(
        stellar_app, token=TOKEN, username=USERNAME, password=PASSWORD, sample_interval=0
    )


def client_for(web: Starlette, base_url: str = "http://127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=base_url)


@pytest.fixture
async def client(dashboard: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with dashboard.router.lifespan_context(dashboard), client_for(dashboard) as c:
        yield c
