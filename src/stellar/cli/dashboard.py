"""``stellar dashboard``, and the dashboard ``stellar run --dashboard [HOST:]PORT`` serves.

The dashboard binds ``127.0.0.1`` unless told otherwise. Its credentials come from the
environment (``STELLAR_DASHBOARD_TOKEN``, or ``STELLAR_DASHBOARD_USERNAME`` with
``STELLAR_DASHBOARD_PASSWORD``) or, for ``stellar dashboard``, from options. Binding to
an address other than loopback requires credentials, and then every page asks for them.

Starlette and uvicorn (the ``web`` extra) are imported only when a dashboard is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import click

from stellar.app import App
from stellar.cli.main import app_root, cli, run_async

log = logging.getLogger("stellar.web")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8790
ENV_TOKEN = "STELLAR_DASHBOARD_TOKEN"
ENV_USERNAME = "STELLAR_DASHBOARD_USERNAME"
ENV_PASSWORD = "STELLAR_DASHBOARD_PASSWORD"


@dataclass(frozen=True)
class DashboardOptions:
    """Where the dashboard listens and who may use it."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    username: str | None = None
    password: str | None = None
    protect_reads: bool = False

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check(self) -> None:
        """Refuse what would expose the dashboard or cannot work (``click`` errors)."""
        if (self.username is None) != (self.password is None):
            raise click.UsageError(
                f"give the dashboard username and password together ({ENV_USERNAME}, "
                f"{ENV_PASSWORD})"
            )
        if not self.loopback and self.token is None and self.username is None:
            raise click.UsageError(
                f"the dashboard would listen on {self.host}, beyond this machine, without "
                f"credentials: set {ENV_TOKEN} (or {ENV_USERNAME} and {ENV_PASSWORD})"
            )
        if not 0 <= self.port <= 65535:
            raise click.UsageError(f"dashboard port {self.port} is not between 0 and 65535")

    def url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}/"


def parse_bind(text: str) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPV6]:PORT`` -> (host, port)."""
    host, port = DEFAULT_HOST, text.strip()
    if port.startswith("["):
        inner, sep, rest = port[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise click.BadParameter(f"{text!r}: expected [IPV6]:PORT", param_hint="--dashboard")
        host, port = inner, rest[1:]
    elif ":" in port:
        host, _, port = port.rpartition(":")
    if not port.isdigit() or not host:
        raise click.BadParameter(
            f"{text!r}: expected PORT or HOST:PORT, e.g. 8790 or 0.0.0.0:8790",
            param_hint="--dashboard",
        )
    return host, int(port)


def from_environment(
    host: str, port: int, env: Mapping[str, str] | None = None
) -> DashboardOptions:
    env = os.environ if env is None else env
    return DashboardOptions(
        host=host,
        port=port,
        token=env.get(ENV_TOKEN) or None,
        username=env.get(ENV_USERNAME) or None,
        password=env.get(ENV_PASSWORD) or None,
    )


def open_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket here, so that a busy port is one clear error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise click.ClickException(f"dashboard: cannot listen on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # connections wait in the backlog until the server accepts them
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"dashboard: cannot listen on {host}:{port}: {exc}") from None
    return sock


def _web_modules() -> tuple[Any, Any]:
    try:
        import uvicorn

        from stellar.web import create_app
    except ImportError as exc:
        raise click.ClickException(
            f"the dashboard needs the web extra ({exc.name} is missing): "
            "pip install 'stellar-tasks[web]'"
        ) from None
    return uvicorn, create_app


@contextlib.contextmanager
def _no_signals() -> Iterator[None]:
    yield


async def serve_with_dashboard(app: App, options: DashboardOptions) -> None:
    """Start ``app``, serve its dashboard, and stop both on SIGINT or SIGTERM."""
    uvicorn, create_app = _web_modules()
    sock = open_socket(options.host, options.port)
    try:
        async with app:
            web = create_app(
                app, token=options.token, username=options.username, password=options.password,
                protect_reads=True if options.protect_reads or not options.loopback else None,
            )  # fmt: skip
            config = uvicorn.Config(
                web, log_config=None, access_log=False, lifespan="on",
                timeout_graceful_shutdown=5, server_header=False,
            )  # fmt: skip
            server = uvicorn.Server(config)
            server.capture_signals = _no_signals  # the application handles the signals
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            access = "actions need credentials" if options.token or options.username else (
                "read-only: no credentials configured"
            )  # fmt: skip
            log.info("dashboard at %s (%s)", options.url(sock.getsockname()[1]), access)
            waiting = asyncio.create_task(app.serve())
            await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
            server.should_exit = True
            app.request_stop()
            await asyncio.gather(serving, waiting)
    finally:
        sock.close()


def dashboard_runner(
    app: App, options: DashboardOptions
) -> Callable[[], Coroutine[Any, Any, None]]:
    """Check ``options`` now (before anything starts) and return what ``run_async`` runs."""
    options.check()
    _web_modules()
    return lambda: serve_with_dashboard(app, options)


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="0: any free port.")
@click.option(
    "--token", envvar=ENV_TOKEN, show_envvar=True,
    help="Token that allows actions (prefer the variable: options show in `ps`).",
)  # fmt: skip
@click.option("--username", envvar=ENV_USERNAME, show_envvar=True, help="Basic-auth username.")
@click.option("--password", envvar=ENV_PASSWORD, show_envvar=True, help="Basic-auth password.")
@click.option(
    "--protect-reads", is_flag=True,
    help="Ask for credentials on every page, even from this machine (e.g. behind a proxy).",
)  # fmt: skip
@click.pass_context
def dashboard(
    ctx: click.Context,
    host: str,
    port: int,
    token: str | None,
    username: str | None,
    password: str | None,
    protect_reads: bool,
) -> None:
    """Serve the web dashboard (queues, failed jobs, workers...) of the application."""
    options = DashboardOptions(
        host=host, port=port, token=token or None, username=username or None,
        password=password or None, protect_reads=protect_reads,
    )  # fmt: skip
    app = App(app_root(ctx), processors=False, scheduler=False)
    run_async(dashboard_runner(app, options))
