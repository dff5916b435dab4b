"""Who may read and who may change: credentials, sessions, CSRF and the local-only rule.

* **Changing actions** (every ``POST``) always need credentials: a bearer token, HTTP basic
  username and password, or the session cookie the login form sets. With no credentials
  configured the dashboard is read-only.
* **Reads** are open to local requests only: the client is a loopback address, the ``Host``
  header names a loopback host (so a DNS-rebinding page cannot read the dashboard) and no
  proxy forwarded the request. Any other request must authenticate, as must every request
  when ``protect_reads=True``.
* **CSRF**: a request authenticated by the session cookie must carry the CSRF token of the
  page (form field ``csrf`` or header ``X-CSRF-Token``): an HMAC of a random nonce kept in
  its own cookie (signed double submit). Browsers never add a bearer token by themselves,
  so token requests need none; every changing request from a browser must also come from
  the dashboard's own origin (``Origin`` / ``Sec-Fetch-Site``).

Secrets live in the :class:`Guard` of one ``create_app`` call: a restart ends the sessions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

SESSION_COOKIE = "stellar_dashboard_session"
CSRF_COOKIE = "stellar_dashboard_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME = 12 * 3600.0
_FORWARDED = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


@dataclass(frozen=True)
class Credentials:
    """What a client may present: a bearer token and/or a username and password."""

    token: str | None = None
    username: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        for name in ("token", "username", "password"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"dashboard {name} must be a non-empty string or None")
        if (self.username is None) != (self.password is None):
            raise ValueError("dashboard username and password go together: give both or neither")

    @property
    def configured(self) -> bool:
        return self.token is not None or self.username is not None

    @property
    def basic(self) -> bool:
        return self.username is not None

    def token_ok(self, token: str) -> bool:
        return self.token is not None and _same(token, self.token)

    def basic_ok(self, username: str, password: str) -> bool:
        if self.username is None or self.password is None:
            return False
        # Both comparisons always run: the time taken does not tell which one failed.
        user_ok = _same(username, self.username)
        password_ok = _same(password, self.password)
        return user_ok and password_ok


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def is_loopback(host: str | None) -> bool:
    """True for ``127.0.0.0/8``, ``::1``, ``localhost`` and ``*.localhost``."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8790`` -> ``::1``)."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def local_request(conn: HTTPConnection) -> bool:
    """A request from this machine, to a loopback name, not relayed by a proxy."""
    client = conn.client
    if client is None or not is_loopback(client.host):
        return False
    if not is_loopback(host_name(conn.headers.get("host", ""))):
        return False
    return not any(name in conn.headers for name in _FORWARDED)


class Guard:
    """Authentication and CSRF checks of one dashboard."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        protect_reads: bool | None = None,
        now: Callable[[], float] = time.time,
        session_lifetime: float = SESSION_LIFETIME,
    ) -> None:
        self.credentials = credentials
        self.protect_reads = protect_reads
        self._now = now
        self._lifetime = session_lifetime
        self._secret = secrets.token_bytes(32)

    # ------------------------------------------------------------ signing
    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode("utf-8"), hashlib.sha256).hexdigest()

    # -------------------------------------------------------------- reading
    def reads_protected(self, conn: HTTPConnection) -> bool:
        if self.protect_reads is not None:
            return self.protect_reads
        return not local_request(conn)

    def may_read(self, conn: HTTPConnection) -> bool:
        return not self.reads_protected(conn) or self.authenticated(conn) is not None

    # ------------------------------------------------------- authentication
    def authenticated(self, conn: HTTPConnection) -> str | None:
        """How ``conn`` proved who it is: ``"token"``, ``"basic"``, ``"session"`` or None."""
        if not self.credentials.configured:
            return None
        header = conn.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self.credentials.token_ok(value):
            return "token"
        if scheme.lower() == "basic" and self._basic_ok(value):
            return "basic"
        if self.session_ok(conn.cookies.get(SESSION_COOKIE, "")):
            return "session"
        return None

    def _basic_ok(self, value: str) -> bool:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, sep, password = decoded.partition(":")
        return bool(sep) and self.credentials.basic_ok(username, password)

    def login_ok(self, token: str, username: str, password: str) -> bool:
        """The login form: either the token, or the username and password."""
        if token and self.credentials.token_ok(token):
            return True
        return bool(username) and self.credentials.basic_ok(username, password)

    def session_value(self) -> str:
        expires = int(self._now() + self._lifetime)
        body = f"{expires}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._sign('session.' + body)}"

    def session_ok(self, value: str) -> bool:
        body, _, signature = value.rpartition(".")
        expires, _, _nonce = body.partition(".")
        if not body or not expires.isdigit():
            return False
        if not hmac.compare_digest(signature, self._sign("session." + body)):
            return False
        return int(expires) > self._now()

    # ---------------------------------------------------------------- CSRF
    def csrf_token(self, nonce: str) -> str:
        return self._sign("csrf." + nonce)

    def csrf_ok(self, conn: HTTPConnection, token: str | None) -> bool:
        nonce = conn.cookies.get(CSRF_COOKIE, "")
        return bool(nonce and token) and hmac.compare_digest(str(token), self.csrf_token(nonce))

    def page_csrf(self, conn: HTTPConnection) -> tuple[str, str | None]:
        """The CSRF token for a page, and the new nonce to set as a cookie (None: keep)."""
        nonce = conn.cookies.get(CSRF_COOKIE, "")
        if len(nonce) >= 16:
            return self.csrf_token(nonce), None
        nonce = secrets.token_urlsafe(24)
        return self.csrf_token(nonce), nonce

    # --------------------------------------------------------------- checks
    def check_change(self, request: Request) -> str:
        """Refuse (``HTTPException``) a changing request from a client that may not change
        anything. Returns how it authenticated; a ``"session"`` must then pass
        :meth:`check_csrf` too."""
        if not self.credentials.configured:
            raise HTTPException(
                403,
                "the dashboard is read-only: no credentials are configured "
                "(set STELLAR_DASHBOARD_TOKEN, or pass token=... to create_app)",
            )
        method = self.authenticated(request)
        if method is None:
            raise HTTPException(
                401, "authentication required", {"WWW-Authenticate": 'Bearer realm="stellar"'}
            )
        if method != "token" and not same_origin(request):
            raise HTTPException(403, "cross-origin request refused")
        return method

    def check_csrf(self, request: Request, csrf: str | None) -> None:
        if not self.csrf_ok(request, csrf):
            raise HTTPException(403, "missing or invalid CSRF token: reload the page")

    def check_login(self, request: Request, csrf: str | None) -> None:
        """The login and logout forms: same origin, and the page's CSRF token."""
        if not same_origin(request):
            raise HTTPException(403, "cross-origin request refused")
        self.check_csrf(request, csrf)

    # -------------------------------------------------------------- cookies
    def set_cookie(
        self, response: Response, conn: HTTPConnection, name: str, value: str, max_age: int
    ) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path=cookie_path(conn), httponly=True,
            secure=conn.url.scheme == "https", samesite="lax",
        )  # fmt: skip

    def start_session(self, response: Response, conn: HTTPConnection) -> None:
        self.set_cookie(response, conn, SESSION_COOKIE, self.session_value(), int(self._lifetime))

    def end_session(self, response: Response, conn: HTTPConnection) -> None:
        response.delete_cookie(SESSION_COOKIE, path=cookie_path(conn))


def cookie_path(conn: HTTPConnection) -> str:
    """Cookies belong to the dashboard's own path (it may be mounted under a prefix)."""
    return base_path(conn) + "/"


def base_path(conn: HTTPConnection) -> str:
    """Where the dashboard is mounted ('' at the root of the server)."""
    return str(conn.scope.get("root_path", "")).rstrip("/")


def same_origin(request: Request) -> bool:
    """False for a browser request sent by another site."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser, or a same-origin GET-style navigation
    netloc = urlsplit(origin).netloc.lower()
    hosts = {request.headers.get("host", "").lower()}
    hosts.add(request.headers.get("x-forwarded-host", "").split(",")[0].strip().lower())
    return bool(netloc) and netloc in hosts
