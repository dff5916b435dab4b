"""A Starlette application (FastAPI works the same way) that runs its task processors
and scheduler inside its lifespan, and whose routes enqueue tasks.

    uvicorn main:web --app-dir examples/asgi
    curl -X POST localhost:8000/signup -H 'content-type: application/json' \
         -d '{"email": "ada@example.com"}'
    curl localhost:8000/stats
"""

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stellar import App
from stellar.integrations.asgi import lifespan

HERE = Path(__file__).parent


def stellar(request: Request) -> App:
    """The running stellar application, put in the request state by the lifespan."""
    app: App = request.state.stellar
    return app


async def signup(request: Request) -> JSONResponse:
    email = (await request.json())["email"]
    tasks = stellar(request).api.tasks
    await tasks.enqueue("accounts.sendWelcome", {"to": email})
    when = await tasks.enqueue_in(float(request.query_params.get("remind_in", 3600)),
                                  "accounts.sendReminder", {"to": email})  # fmt: skip
    return JSONResponse({"welcome": "queued", "reminder_at": when.isoformat()}, status_code=202)


async def stats(request: Request) -> JSONResponse:
    tasks = stellar(request).api.tasks
    details = await tasks.details()
    return JSONResponse(
        {
            "stats": details.stats,
            "queues": {q.name: q.length for q in details.queues},
            "delayed": details.delayed,
            "failed": [f"{f.exception}: {f.error}" for f in await tasks.failed()],
            "leader": details.leader,
        }
    )


web = Starlette(
    routes=[Route("/signup", signup, methods=["POST"]), Route("/stats", stats)],
    lifespan=lifespan(HERE),
)
