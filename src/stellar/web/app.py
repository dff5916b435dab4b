"""``create_app(app)``: the dashboard of one Stellar application, as a Starlette app.

It holds no module-level state: each call builds its own guard, history and templates,
so several dashboards can live in one process. Mount it anywhere::

    dashboard = create_app(stellar_app, token=os.environ["STELLAR_DASHBOARD_TOKEN"])
    api.mount("/tasks", dashboard)          # FastAPI, Starlette, any ASGI router

The Stellar application must be started (``async with App(...)``) while requests arrive;
until then the dashboard answers 503.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stellar.app import App
from stellar.errors import (
    BackendError,
    InvalidParams,
    InvalidTime,
    NotFound,
    NotPeriodic,
    PayloadError,
    StellarError,
    UnknownTask,
)
from stellar.web.history import History, Sampler
from stellar.web.routes import Dashboard, Handlers, NotReady
from stellar.web.security import Credentials, Guard

HERE = Path(__file__).parent
MAX_BODY = 1 << 20

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def create_app(
    app: App,
    *,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    protect_reads: bool | None = None,
    refresh: float = 2.0,
    sample_interval: float = 5.0,
) -> Starlette:
    """Build the dashboard of ``app``.

    ``token`` (sent as ``Authorization: Bearer ...`` or typed in the login form) and/or
    ``username`` with ``password`` (HTTP basic or the login form) allow changing actions;
    without any the dashboard is read-only. ``protect_reads``: None (default) lets local
    requests read without logging in and asks every other request to; True always asks.
    ``refresh``: seconds between the browser's updates. ``sample_interval``: seconds
    between the samples of the throughput history (0: sample only when a page asks).
    """
    guard = Guard(
        Credentials(token=token, username=username, password=password),
        protect_reads=protect_reads,
    )
    history = History(sample_interval)
    dash = Dashboard(
        app=app,
        guard=guard,
        sampler=Sampler(history, lambda: dash.tasks, lambda: app.clock),
        templates=Jinja2Templates(env=_environment()),
        refresh=refresh,
        version=_static_version(),
    )
    handlers = Handlers(dash)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        dash.sampler.ensure_running()
        try:
            yield
        finally:
            await dash.sampler.stop()

    web = Starlette(
        routes=[
            *handlers.routes(),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[Middleware(ResponseHeaders)],
        exception_handlers={
            HTTPException: _http_error,
            StellarError: _stellar_error,
            NotReady: _not_ready,
        },
        lifespan=lifespan,
        max_body_size=MAX_BODY,
    )
    web.state.dashboard = dash
    return web


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["duration"] = duration
    return env


def duration(seconds: float) -> str:
    """``90`` -> ``1 min 30 s``, ``86400`` -> ``24 h`` (as the browser shows them)."""
    if seconds < 60:
        return f"{seconds:g} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest and minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _static_version() -> str:
    """A digest of the static files: their URLs change whenever they do."""
    digest = hashlib.sha256()
    for path in sorted((HERE / "static").iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# ------------------------------------------------------------------ errors
def _wants_json(request: Request) -> bool:
    root = str(request.scope.get("root_path", ""))
    path = request.url.path
    inner = path[len(root) :] if path.startswith(root) else path
    return inner.startswith(("/api/", "/metrics")) or "application/json" in request.headers.get(
        "accept", ""
    )


def _error(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    body = (
        "<!doctype html><meta charset='utf-8'><title>Stellar dashboard</title>"
        f"<h1>{status}</h1><p>{html.escape(message)}</p>"
    )
    return HTMLResponse(body, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, exc.detail, exc.headers)


def _stellar_status(exc: StellarError) -> int:
    if isinstance(exc, NotFound | UnknownTask):
        return 404
    if isinstance(exc, BackendError):
        return 503
    if isinstance(exc, NotPeriodic | InvalidParams | InvalidTime | PayloadError):
        return 400
    return 409


async def _stellar_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StellarError)
    return _error(request, _stellar_status(exc), str(exc))


async def _not_ready(request: Request, exc: Exception) -> Response:
    return _error(request, 503, str(exc))


# -------------------------------------------------------------- middleware
class ResponseHeaders:
    """Security headers on every response, ``Cache-Control: no-store`` on everything
    but static files, and ``Server-Timing`` (time to the first byte, in ms)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root, path = str(scope.get("root_path", "")), str(scope.get("path", ""))
        static = path[len(root) :].startswith("/static/") if path.startswith(root) else False

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("cache-control", "no-store")
                elapsed = (time.perf_counter() - started) * 1000
                headers.append("server-timing", f"app;dur={elapsed:.1f}")
            await send(message)

        await self.app(scope, receive, send_with_headers)
