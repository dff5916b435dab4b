"""The tasks the web routes enqueue."""

import os
from datetime import UTC, datetime
from pathlib import Path

from stellar import task

APP_ROOT = Path(__file__).resolve().parents[3]


def outbox() -> Path:
    """Where this example "sends" its emails: a file (``$OUTBOX`` if set)."""
    return Path(os.environ.get("OUTBOX") or APP_ROOT / ".stellar" / "outbox.txt")


@task(name="accounts.sendWelcome", description="Send the welcome email to a new account")
async def send_welcome(api, params):
    if "@" not in params["to"]:
        raise ValueError(f"not an email address: {params['to']!r}")
    path = outbox()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(f"{datetime.now(UTC).isoformat()} welcome {params['to']}\n")
    api.log.info("accounts.sendWelcome: welcomed %s", params["to"])


@task(name="accounts.sendReminder", description="Remind a new account to finish signing up")
async def send_reminder(api, params):
    with outbox().open("a", encoding="utf-8") as file:
        file.write(f"{datetime.now(UTC).isoformat()} reminder {params['to']}\n")
