"""The command-line examples of docs/management.md, run in order on a sample application.

Run it (it builds a throwaway application, fills its queues, and runs every command)::

    python docs/examples/management_cli.py

Every ``stellar ...`` line of docs/management.md is one of :data:`COMMANDS`; a test checks
that and runs them all (each must exit 0).
"""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stellar import App

STELLAR_TOML = """\
[tasks]
backend = "sqlite:///.stellar/tasks.db"
"""

TASK_FILE = """\
from stellar import task


@task(name="email.send", description="Send a mail")
async def send(api, params):
    api.log.info("mail to %s", params["to"])


@task(name="reports.nightly", description="Every day", queue="reports", frequency=86400)
async def nightly(api, params):
    api.log.info("nightly report")
"""

# Failed records as a worker writes them (fixed text, so their refs are always the same).
FAILED = [
    '{"worker":"web-1:4242+1","queue":"default","payload":{"class":"email.send",'
    '"queue":"default","args":[{"to":"ann@example.com"}]},"exception":"SMTPError",'
    '"error":"mailbox full","backtrace":["  at send (email.py:12)"],'
    '"failed_at":"Wed Jun 17 2026 14:06:56 GMT+0000 (Coordinated Universal Time)"}',
    '{"worker":"web-1:4242+1","queue":"default","payload":{"class":"email.send",'
    '"queue":"default","args":[{"to":"bob@example.com"}]},"exception":"TimeoutError",'
    '"error":"no answer","backtrace":["  at send (email.py:12)"],'
    '"failed_at":"Wed Jun 17 2026 14:07:02 GMT+0000 (Coordinated Universal Time)"}',
    '{"worker":"web-2:777+1","queue":"default","payload":{"class":"email.send",'
    '"queue":"default","args":[{"to":"cid@example.com"}]},"exception":"SMTPError",'
    '"error":"relay denied","backtrace":["  at send (email.py:12)"],'
    '"failed_at":"Wed Jun 17 2026 14:09:40 GMT+0000 (Coordinated Universal Time)"}',
]

COMMANDS = """\
stellar queues
stellar queue show default --limit 20
stellar queue delete default --task email.send --params '{"to": "ann@example.com"}' --count 1
stellar stats
stellar details
stellar details --json
stellar workers
stellar workers clean gone-host:4242+1
stellar clean-old-workers 1h
stellar locks
stellar lock delete 'lock:email.send:default:[{}]'
stellar delayed
stellar delayed find email.send --params '{"to": "dan@example.com"}'
stellar delayed delete --task email.send --params '{"to": "dan@example.com"}'
stellar delayed delete --at 4102444800
stellar recurrent
stellar recurrent stop reports.nightly
stellar recurrent start reports.nightly
stellar failed list
stellar failed list --exception SMTPError --json
stellar failed show 1:01fc5ecc
stellar failed retry 0:60cd580f
stellar failed remove 1:01fc5ecc
stellar failed retry --task 'email.*' --exception SMTPError
stellar failed remove --all
stellar queue delete default
stellar delayed delete --all
""".splitlines()


def write_app(root: Path) -> None:
    """A sample application: its config and one task file."""
    (root / "modules/email/tasks").mkdir(parents=True, exist_ok=True)
    (root / "stellar.toml").write_text(STELLAR_TOML)
    (root / "modules/email/tasks/send.py").write_text(TASK_FILE)


async def fill(root: Path) -> None:
    """Some queued, delayed and failed jobs to look at."""
    async with App(root, processors=False, scheduler=False, env={}) as app:
        tasks = app.api.tasks
        for to in ("ann@example.com", "bob@example.com", "ann@example.com"):
            await tasks.enqueue("email.send", {"to": to})
        await tasks.enqueue_at(4102444800, "email.send", {"to": "dan@example.com"})
        await tasks.enqueue_at(4102444800, "email.send", {"to": "eve@example.com"})
        backend = app.backend
        assert backend is not None
        for record in FAILED:
            await backend.finish("web-1:4242+1", "*", failure=record)
        # a QueueLock-style lock, a dead worker, and one stuck on a job for two hours
        await backend.acquire_lock("lock:email.send:default:[{}]", "4102444800", 3600)
        now = time.time()
        await backend.register_worker("gone-host:4242+1", "default", now)
        await backend.register_worker("old-host:99+1", "slow", now - 7200)
        await tasks.enqueue("email.send", {"to": "stuck@example.com"}, queue="slow")
        await backend.claim(["slow"], "old-host:99+1", "slow", now - 7200)


def arguments(command: str) -> list[str]:
    """The arguments of one example line, without the leading ``stellar``."""
    words = shlex.split(command)
    assert words[0] == "stellar", command
    return words[1:]


def main(root: Path) -> None:
    write_app(root)
    asyncio.run(fill(root))
    for command in COMMANDS:
        print(f"$ {command}", flush=True)
        args = [sys.executable, "-m", "stellar.cli", "--app", str(root), *arguments(command)]
        subprocess.run(args, check=True)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        main(Path(folder))
