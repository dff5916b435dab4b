# The API from plain (synchronous) code: a script, a Django view, a Celery-era codebase.
from pathlib import Path

from stellar.sync import SyncApp


def main(root: Path) -> None:
    with SyncApp(root, processors=False, scheduler=False) as stellar:
        queued = stellar.tasks.enqueue("email.sendResetPassword", {"to": "ada@example.com"})
        print("queued:", queued)
        print("waiting in default:", stellar.tasks.length("default"))
        when = stellar.tasks.enqueue_at(1_900_000_000, "reports.build", {"month": "2030-03"})
        print("report at:", when.isoformat())


if __name__ == "__main__":
    main(Path(__file__).parent / "app")
