"""Who may read and change: credentials, the local-only rule, sessions, CSRF, headers."""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from starlette.applications import Starlette

from stellar import App
from stellar.web import create_app
from stellar.web.security import Credentials, Guard, host_name, is_loopback
from tests.web.conftest import AUTH, client_for
from tests.web.support import PASSWORD, TOKEN, USERNAME, add_failure

RETRY = "/api/failed/retry"


async def first_failed(stellar_app: App, client: httpx.AsyncClient) -> dict[str, object]:
    await add_failure(stellar_app)
    item = (await client.get("/api/failed")).json()["items"][0]
    return {"id": item["id"], "index": item["index"]}


def basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def login(client: httpx.AsyncClient) -> str:
    """Log in through the form; returns the page's CSRF token."""
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    r = await client.post("/login", data={"csrf": csrf.group(1), "token": TOKEN, "next": "/failed"})
    assert r.status_code == 303 and r.headers["location"] == "/failed"
    assert "stellar_dashboard_session=" in r.headers["set-cookie"]
    page = await client.get("/failed")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


async def test_changes_need_credentials(stellar_app: App, client: httpx.AsyncClient) -> None:
    job = await first_failed(stellar_app, client)
    r = await client.post(RETRY, json=job)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert (
        await client.post(RETRY, json=job, headers={"Authorization": "Bearer nope"})
    ).status_code == 401
    assert (await client.post(RETRY, json=job, headers=basic(USERNAME, "nope"))).status_code == 401
    assert await stellar_app.api.tasks.failed_count() == 1
    r = await client.post(RETRY, json=job, headers=basic(USERNAME, PASSWORD))
    assert r.status_code == 200 and await stellar_app.api.tasks.failed_count() == 0


async def test_without_credentials_the_dashboard_is_read_only(stellar_app: App) -> None:
    web = create_app(stellar_app, sample_interval=0)
    async with client_for(web) as client:
        job = await first_failed(stellar_app, client)
        r = await client.post(RETRY, json=job, headers=AUTH)
        assert r.status_code == 403 and "read-only" in r.json()["error"]
        page = (await client.get("/failed")).text
        assert 'data-actions="off"' in page and "Read-only" in page


async def test_remote_reads_need_credentials(dashboard: Starlette) -> None:
    async with client_for(dashboard, "http://tasks.example.com") as remote:
        r = await remote.get("/failed")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Ffailed"
        assert (await remote.get("/api/overview")).status_code == 401
        assert (await remote.get("/metrics")).status_code == 401
        assert (await remote.get("/api/overview", headers=AUTH)).status_code == 200
        assert (await remote.get("/metrics", headers=basic(USERNAME, PASSWORD))).status_code == 200
        assert (await remote.get("/login")).status_code == 200
        assert (await remote.get("/static/dashboard.css")).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}, {"Host": "evil.test"}],
)
async def test_proxied_or_rebound_requests_are_not_local(
    dashboard: Starlette, headers: dict[str, str]
) -> None:
    async with client_for(dashboard) as client:
        assert (await client.get("/api/overview", headers=headers)).status_code == 401


async def test_protect_reads_asks_even_local_visitors(stellar_app: App) -> None:
    web = create_app(stellar_app, token=TOKEN, protect_reads=True, sample_interval=0)
    async with client_for(web) as client:
        assert (await client.get("/api/queues")).status_code == 401
        assert (await client.get("/api/queues", headers=AUTH)).status_code == 200


async def test_session_login_and_csrf(stellar_app: App, client: httpx.AsyncClient) -> None:
    job = await first_failed(stellar_app, client)
    csrf = await login(client)
    r = await client.post(RETRY, json=job)
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    r = await client.post(RETRY, json=job, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = await client.post(
        RETRY, json=job, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.test"}
    )
    assert r.status_code == 403 and "cross-origin" in r.json()["error"]
    r = await client.post(
        RETRY, json=job, headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
    )
    assert r.status_code == 403
    assert await stellar_app.api.tasks.failed_count() == 1
    r = await client.post(
        RETRY, json=job, headers={"X-CSRF-Token": csrf, "Origin": "http://127.0.0.1"}
    )
    assert r.status_code == 200, r.text
    # a form post carries the token as a field
    await add_failure(stellar_app)
    item = (await client.get("/api/failed")).json()["items"][0]
    r = await client.post(RETRY, data={"id": item["id"], "index": item["index"], "csrf": csrf})
    assert r.status_code == 200, r.text


async def test_login_form_refuses_wrong_credentials_and_forged_posts(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/login?next=https://evil.test/")
    assert 'name="username"' in page.text and 'name="token"' in page.text
    assert 'name="next" value="/"' in page.text  # no open redirect
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    r = await client.post(
        "/login", data={"csrf": csrf.group(1), "username": USERNAME, "password": "x"}
    )
    assert r.status_code == 401 and "Wrong credentials" in r.text
    assert "stellar_dashboard_session" not in r.headers.get("set-cookie", "")
    r = await client.post("/login", data={"csrf": "forged", "token": TOKEN})
    assert r.status_code == 403
    r = await client.post(
        "/login", data={"csrf": csrf.group(1), "username": USERNAME, "password": PASSWORD}
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    csrf = await login(client)
    assert 'data-actions="on"' in (await client.get("/")).text
    r = await client.post("/logout", data={"csrf": csrf})
    assert r.status_code == 303
    assert 'data-actions="login"' in (await client.get("/")).text


async def test_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["server-timing"].startswith("app;dur=")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    static = await client.get("/static/dashboard.js")
    assert "no-store" not in static.headers.get("cache-control", "")


def test_sessions_expire_and_are_signed() -> None:
    clock = [1000.0]
    guard = Guard(Credentials(token="t"), now=lambda: clock[0], session_lifetime=60)
    value = guard.session_value()
    assert guard.session_ok(value)
    assert not guard.session_ok(value[:-1] + ("0" if value[-1] != "0" else "1"))
    assert not guard.session_ok("garbage") and not guard.session_ok("")
    other = Guard(Credentials(token="t"), now=lambda: clock[0])
    assert not other.session_ok(value)  # each dashboard has its own secret
    clock[0] += 61
    assert not guard.session_ok(value)


def test_credentials_are_checked() -> None:
    with pytest.raises(ValueError, match="go together"):
        Credentials(username="a")
    with pytest.raises(ValueError, match="non-empty"):
        Credentials(token="")
    assert not Credentials().configured
    assert Credentials(token="t").token_ok("t") and not Credentials(token="t").token_ok("T")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("app.localhost", True), ("10.0.0.1", False),
     ("0.0.0.0", False), ("example.com", False), ("", False)],
)  # fmt: skip
def test_loopback_names(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_host_header_parsing() -> None:
    assert host_name("[::1]:8790") == "::1"
    assert host_name("localhost:8790") == "localhost"
    assert host_name("example.com") == "example.com"
