# Stellar inside a lifespan of your own (Starlette here; FastAPI(lifespan=...) is the same).
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stellar import App
from stellar.integrations.otel import instrument

ROOT = Path(__file__).parent / "app"


@contextlib.asynccontextmanager
async def lifespan(web: Starlette) -> AsyncIterator[dict[str, Any]]:
    async with App(ROOT) as stellar:  # processors and scheduler start with the server
        instrument(stellar)  # anything else you need at start-up
        yield {"stellar": stellar}  # stopped gracefully on shutdown


async def build_report(request: Request) -> JSONResponse:
    stellar: App = request.state.stellar
    month = request.path_params["month"]
    await stellar.api.tasks.enqueue("reports.build", {"month": month})
    return JSONResponse({"queued": month}, status_code=202)


web = Starlette(routes=[Route("/reports/{month}", build_report, methods=["POST"])],
                lifespan=lifespan)  # fmt: skip
