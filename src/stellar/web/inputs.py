"""Reading what a request carries: query numbers, bodies (JSON or form), redirects."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from stellar.web import views
from stellar.web.security import base_path


def int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number") from None


def failed_filter(fields: Any) -> views.FailedQuery:
    def get(name: str) -> str:
        value = fields.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    return views.FailedQuery(get("queue"), get("task"), get("exception"), get("q"))


async def read_body(request: Request) -> dict[str, str]:
    """A changing request's fields, from JSON or a form; values become strings."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = await request.json()
        except ValueError:
            raise HTTPException(400, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise HTTPException(400, "the body must be a JSON object")
        return {str(k): v if isinstance(v, str) else _text(v) for k, v in data.items()}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    return "" if value is None else str(value)


def required(body: dict[str, str], name: str) -> str:
    value = body.get(name, "")
    if not value:
        raise HTTPException(400, f"{name} is required")
    return value


def required_int(body: dict[str, str], name: str) -> int:
    try:
        return int(required(body, name))
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number") from None


def safe_next(request: Request, target: str) -> str:
    """Where to go after logging in: only a path of this dashboard."""
    base = base_path(request)
    if (
        target.startswith(base + "/")
        and not target.startswith("//")
        and "\\" not in target
        and "://" not in target
    ):
        return target
    return base + "/"
