"""HTTP: the pages, the JSON API under ``/api``, ``/metrics`` and the login form.

Every page is one template plus the JSON its ``GET /api`` twin returns, embedded for the
first paint; the browser then polls that same endpoint and redraws (``static/``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from stellar.api import Tasks
from stellar.app import App
from stellar.web import actions, metrics, views
from stellar.web.history import Sampler
from stellar.web.inputs import (
    failed_filter,
    int_param,
    read_body,
    required,
    required_int,
    safe_next,
)
from stellar.web.security import CSRF_COOKIE, Guard, base_path

JSON = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]
Action = Callable[[Request, dict[str, str]], Awaitable[JSON]]

NAV = (
    ("overview", "/", "Overview"),
    ("delayed", "/delayed", "Delayed"),
    ("failed", "/failed", "Failed"),
    ("workers", "/workers", "Workers"),
    ("locks", "/locks", "Locks"),
    ("periodic", "/periodic", "Periodic"),
    ("tasks", "/tasks", "Tasks"),
)
LOGIN_DELAY = 0.3  # seconds a wrong password waits: slows guessing down


class NotReady(RuntimeError):
    """The application behind the dashboard is not started."""


@dataclass
class Dashboard:
    """Everything one ``create_app`` call owns."""

    app: App
    guard: Guard
    sampler: Sampler
    templates: Jinja2Templates
    refresh: float
    version: str

    @property
    def tasks(self) -> Tasks:
        try:
            return self.app.api.tasks
        except RuntimeError:
            raise NotReady("the Stellar application is not started") from None

    def now(self) -> float:
        return self.app.clock.time()


class Handlers:
    """The endpoints of one dashboard."""

    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    # ------------------------------------------------------------ wrappers
    def page(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not self.dash.guard.may_read(request):
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                target = f"{base_path(request)}/login?next={quote(here, safe='')}"
                return RedirectResponse(target, status_code=303)
            self.dash.sampler.ensure_running()
            return await handler(request)

        return endpoint

    def read(self, handler: Callable[[Request], Awaitable[JSON]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not self.dash.guard.may_read(request):
                raise HTTPException(
                    401, "authentication required", {"WWW-Authenticate": 'Bearer realm="stellar"'}
                )
            self.dash.sampler.ensure_running()
            return JSONResponse(await handler(request))

        return endpoint

    def change(self, handler: Action) -> Handler:
        async def endpoint(request: Request) -> Response:
            guard = self.dash.guard
            method = guard.check_change(request)  # before reading any body
            body = await read_body(request)
            if method == "session":
                guard.check_csrf(request, request.headers.get("x-csrf-token") or body.get("csrf"))
            return JSONResponse(await handler(request, body))

        return endpoint

    # ---------------------------------------------------------- rendering
    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> Response:
        guard = self.dash.guard
        csrf, new_nonce = guard.page_csrf(request)
        if not guard.credentials.configured:
            acting = "off"
        else:
            acting = "on" if guard.authenticated(request) else "login"
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        context.setdefault("page", "")
        response = self.dash.templates.TemplateResponse(
            request, template,
            {
                "base": base_path(request), "csrf": csrf, "actions": acting, "nav": NAV,
                "app_name": self.dash.app.root.name, "version": self.dash.version,
                "refresh": int(self.dash.refresh * 1000), "here": quote(here, safe=""),
                **context,
            },
            status_code=status,
        )  # fmt: skip
        if new_nonce is not None:
            guard.set_cookie(response, request, CSRF_COOKIE, new_nonce, 30 * 24 * 3600)
        return response

    def live(
        self, request: Request, name: str, title: str, api: str, data: JSON, **extra: Any
    ) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        api_url = f"{base_path(request)}{api}{query}"
        return self.render(
            request, "page.html", page=name, title=title, api=api_url, data=data, **extra
        )

    # ---------------------------------------------------------- read data
    async def overview_data(self, request: Request) -> JSON:
        await self.dash.sampler.refresh()
        return await views.overview(self.dash.tasks, self.dash.sampler.history, self.dash.now())

    async def queues_data(self, request: Request) -> JSON:
        return {"items": await views.queue_names(self.dash.tasks)}

    async def queue_data(self, request: Request) -> JSON:
        return await views.queue_jobs(
            self.dash.tasks, request.path_params["name"], int_param(request, "page", 1),
            int_param(request, "per_page", views.DEFAULT_PER_PAGE),
        )  # fmt: skip

    async def delayed_data(self, request: Request) -> JSON:
        return await views.delayed(
            self.dash.tasks, int_param(request, "page", 1), int_param(request, "per_page", 20)
        )

    async def failed_data(self, request: Request) -> JSON:
        before = request.query_params.get("before")
        return await views.failed(
            self.dash.tasks, failed_filter(request.query_params), int_param(request, "page", 1),
            int_param(request, "per_page", 20), int_param(request, "before", 0) if before else None,
        )  # fmt: skip

    async def workers_data(self, request: Request) -> JSON:
        settings = self.dash.app.settings
        stuck = settings.stuck_worker_timeout if settings is not None else 60.0
        return await views.workers(self.dash.tasks, self.dash.now(), stuck)

    async def locks_data(self, request: Request) -> JSON:
        return await views.locks(
            self.dash.tasks, int_param(request, "page", 1),
            int_param(request, "per_page", views.DEFAULT_PER_PAGE),
        )  # fmt: skip

    async def periodic_data(self, request: Request) -> JSON:
        return await views.periodic(self.dash.app, self.dash.tasks)

    async def tasks_data(self, request: Request) -> JSON:
        return views.definitions(self.dash.app)

    # -------------------------------------------------------------- pages
    async def overview_page(self, request: Request) -> Response:
        data = await self.overview_data(request)
        return self.live(request, "overview", "Overview", "/api/overview", data)

    async def queue_page(self, request: Request) -> Response:
        name = request.path_params["name"]
        data = await self.queue_data(request)
        api = "/api/queues/" + quote(name, safe="")
        return self.live(request, "queue", f"Queue {name}", api, data, queue=name)

    async def delayed_page(self, request: Request) -> Response:
        data = await self.delayed_data(request)
        return self.live(request, "delayed", "Delayed jobs", "/api/delayed", data)

    async def failed_page(self, request: Request) -> Response:
        data = await self.failed_data(request)
        queues = await self.dash.tasks.queues()
        registry = self.dash.app.registry
        names = [t.name for t in registry] if registry is not None else []
        return self.live(
            request, "failed", "Failed jobs", "/api/failed", data, queues=queues, task_names=names
        )

    async def workers_page(self, request: Request) -> Response:
        data = await self.workers_data(request)
        return self.live(request, "workers", "Workers", "/api/workers", data)

    async def locks_page(self, request: Request) -> Response:
        data = await self.locks_data(request)
        return self.live(request, "locks", "Locks", "/api/locks", data)

    async def periodic_page(self, request: Request) -> Response:
        data = await self.periodic_data(request)
        return self.live(request, "periodic", "Periodic tasks", "/api/periodic", data)

    async def tasks_page(self, request: Request) -> Response:
        data = views.definitions(self.dash.app)
        return self.render(request, "tasks.html", page="tasks", title="Tasks", data=data)

    async def metrics(self, request: Request) -> Response:
        if not self.dash.guard.may_read(request):
            raise HTTPException(
                401, "authentication required", {"WWW-Authenticate": 'Bearer realm="stellar"'}
            )
        self.dash.sampler.ensure_running()
        await self.dash.sampler.refresh()
        text = await metrics.render(self.dash.tasks, self.dash.sampler.history, self.dash.now())
        return PlainTextResponse(text, media_type=metrics.CONTENT_TYPE)

    # -------------------------------------------------------------- login
    def login_page(
        self, request: Request, target: str, error: str | None = None, status: int = 200
    ) -> Response:
        credentials = self.dash.guard.credentials
        return self.render(
            request, "login.html", status=status, title="Log in", next=target, error=error,
            credentials=credentials.configured, basic=credentials.basic,
            token=credentials.token is not None,
        )  # fmt: skip

    async def login_form(self, request: Request) -> Response:
        return self.login_page(request, safe_next(request, request.query_params.get("next", "")))

    async def login(self, request: Request) -> Response:
        form = await read_body(request)
        guard = self.dash.guard
        guard.check_login(request, form.get("csrf"))
        target = safe_next(request, form.get("next", ""))
        ok = guard.credentials.configured and guard.login_ok(
            form.get("token", ""), form.get("username", ""), form.get("password", "")
        )
        if not ok:
            await asyncio.sleep(LOGIN_DELAY)
            return self.login_page(request, target, "Wrong credentials.", 401)
        response = RedirectResponse(target, status_code=303)
        guard.start_session(response, request)
        return response

    async def logout(self, request: Request) -> Response:
        form = await read_body(request)
        self.dash.guard.check_login(request, form.get("csrf"))
        response = RedirectResponse(f"{base_path(request)}/", status_code=303)
        self.dash.guard.end_session(response, request)
        return response

    # ------------------------------------------------------------ actions
    async def delete_job(self, request: Request, body: dict[str, str]) -> JSON:
        return await actions.delete_queued(
            self.dash.tasks, required(body, "queue"), required(body, "payload")
        )

    async def delete_delayed(self, request: Request, body: dict[str, str]) -> JSON:
        return await actions.delete_delayed(self.dash.tasks, required(body, "payload"))

    async def delete_timestamp(self, request: Request, body: dict[str, str]) -> JSON:
        return await actions.delete_timestamp(self.dash.tasks, required_int(body, "timestamp"))

    async def retry_failed(self, request: Request, body: dict[str, str]) -> JSON:
        ident, index = required(body, "id"), required_int(body, "index")
        return await actions.retry_failed(self.dash.tasks, ident, index)

    async def remove_failed(self, request: Request, body: dict[str, str]) -> JSON:
        ident, index = required(body, "id"), required_int(body, "index")
        return await actions.remove_failed(self.dash.tasks, ident, index)

    async def retry_all(self, request: Request, body: dict[str, str]) -> JSON:
        return await actions.retry_all_failed(self.dash.tasks, failed_filter(body))

    async def remove_all(self, request: Request, body: dict[str, str]) -> JSON:
        return await actions.remove_all_failed(self.dash.tasks, failed_filter(body))

    async def clean_worker(self, request: Request, body: dict[str, str]) -> JSON:
        requeue = body.get("requeue", "").lower() in ("1", "true", "yes", "on")
        return await actions.clean_worker(self.dash.tasks, required(body, "name"), requeue)

    async def delete_lock(self, request: Request, body: dict[str, str]) -> JSON:
        return await actions.delete_lock(self.dash.tasks, required(body, "name"))

    async def stop_periodic(self, request: Request, body: dict[str, str]) -> JSON:
        return await actions.stop_periodic(self.dash.tasks, required(body, "task"))

    async def start_periodic(self, request: Request, body: dict[str, str]) -> JSON:
        return await actions.start_periodic(self.dash.tasks, required(body, "task"))

    # ------------------------------------------------------------- routes
    def routes(self) -> list[BaseRoute]:
        page, read, change = self.page, self.read, self.change
        return [
            Route("/", page(self.overview_page), name="overview"),
            Route("/queues/{name:path}", page(self.queue_page), name="queue"),
            Route("/delayed", page(self.delayed_page), name="delayed"),
            Route("/failed", page(self.failed_page), name="failed"),
            Route("/workers", page(self.workers_page), name="workers"),
            Route("/locks", page(self.locks_page), name="locks"),
            Route("/periodic", page(self.periodic_page), name="periodic"),
            Route("/tasks", page(self.tasks_page), name="tasks"),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/metrics", self.metrics),
            Route("/api/overview", read(self.overview_data)),
            Route("/api/queues", read(self.queues_data)),
            Route("/api/queues/delete", change(self.delete_job), methods=["POST"]),
            Route("/api/queues/{name:path}", read(self.queue_data)),
            Route("/api/delayed", read(self.delayed_data)),
            Route("/api/delayed/delete", change(self.delete_delayed), methods=["POST"]),
            Route("/api/delayed/delete-at", change(self.delete_timestamp), methods=["POST"]),
            Route("/api/failed", read(self.failed_data)),
            Route("/api/failed/retry", change(self.retry_failed), methods=["POST"]),
            Route("/api/failed/remove", change(self.remove_failed), methods=["POST"]),
            Route("/api/failed/retry-all", change(self.retry_all), methods=["POST"]),
            Route("/api/failed/remove-all", change(self.remove_all), methods=["POST"]),
            Route("/api/workers", read(self.workers_data)),
            Route("/api/workers/clean", change(self.clean_worker), methods=["POST"]),
            Route("/api/locks", read(self.locks_data)),
            Route("/api/locks/delete", change(self.delete_lock), methods=["POST"]),
            Route("/api/periodic", read(self.periodic_data)),
            Route("/api/periodic/stop", change(self.stop_periodic), methods=["POST"]),
            Route("/api/periodic/start", change(self.start_periodic), methods=["POST"]),
            Route("/api/tasks", read(self.tasks_data)),
        ]
