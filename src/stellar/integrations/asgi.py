"""Run an application inside an ASGI application's lifespan (Starlette, FastAPI).

::

    from starlette.applications import Starlette
    from stellar.integrations.asgi import lifespan

    web = Starlette(routes=routes, lifespan=lifespan("."))

    async def signup(request):
        stellar = request.state.stellar            # the running stellar App
        await stellar.api.tasks.enqueue("email.sendWelcome", {"to": "a@b.c"})

The task processors and the scheduler start with the web server and stop with it,
gracefully. The application is yielded as lifespan state (``request.state.stellar``) and
also set on ``web.state.stellar`` when the web application has a ``state``. To combine it
with a lifespan of your own, write the five lines yourself::

    @contextlib.asynccontextmanager
    async def lifespan(web):
        async with App(".") as stellar:
            ... # your own start-up
            yield {"stellar": stellar}
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from stellar.app import App

STATE_KEY = "stellar"

Lifespan = Callable[[Any], AbstractAsyncContextManager[dict[str, Any]]]


def lifespan(app: App | str | os.PathLike[str] = ".", /, **options: Any) -> Lifespan:
    """A lifespan that starts ``App(app, **options)`` (or the given ``App``) with the web
    application and stops it on shutdown."""
    if isinstance(app, App) and options:
        raise TypeError("lifespan(app) takes no options: give them to App(...)")

    @contextlib.asynccontextmanager
    async def run(web: Any) -> AsyncIterator[dict[str, Any]]:
        stellar = app if isinstance(app, App) else App(app, **options)
        async with stellar:
            state = getattr(web, "state", None)
            if state is not None:
                setattr(state, STATE_KEY, stellar)
            yield {STATE_KEY: stellar}

    return run
