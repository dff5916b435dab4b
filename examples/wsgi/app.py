"""A Flask application that enqueues tasks and uses the management API from plain
functions, through stellar.sync.SyncApp.

    flask --app examples/wsgi/app.py run
    curl -X POST localhost:5000/signup -H 'content-type: application/json' \
         -d '{"email": "ada@example.com"}'
    curl localhost:5000/stats
"""

import atexit
from pathlib import Path

from flask import Flask, request

from stellar.sync import SyncApp

HERE = Path(__file__).parent


def create_app(stellar: SyncApp | None = None) -> Flask:
    """The Flask application. Without ``stellar``, start one for this process: it runs
    the task processors and the scheduler in a background thread until exit."""
    if stellar is None:
        stellar = SyncApp(HERE).start()
        atexit.register(stellar.close)
    tasks = stellar.tasks
    web = Flask(__name__)

    @web.post("/signup")
    def signup() -> tuple[dict[str, str], int]:
        email = request.get_json()["email"]
        tasks.enqueue("accounts.sendWelcome", {"to": email})
        return {"welcome": "queued"}, 202

    @web.get("/stats")
    def stats() -> dict[str, object]:
        return {"stats": tasks.stats(), "failed": tasks.failed_count()}

    @web.get("/failed")
    def failed() -> list[dict[str, object]]:
        return [
            {"task": f.job.task if f.job else None, "error": f"{f.exception}: {f.error}"}
            for f in tasks.failed()
        ]

    @web.post("/failed/clear")
    def clear_failed() -> dict[str, int]:
        return {"removed": sum(tasks.remove_failed(f) for f in tasks.failed())}

    return web
