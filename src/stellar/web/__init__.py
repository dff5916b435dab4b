"""The web dashboard: ``create_app(app)`` returns a Starlette application (needs the
``web`` extra: ``pip install 'stellar-tasks[web]'``)."""

from stellar.web.app import create_app

__all__ = ["create_app"]
