# Where each setting comes from: stellar.toml, then STELLAR_* variables, then App(...).
import asyncio
from pathlib import Path

from stellar import App, ConfigError


async def main(root: Path) -> None:
    (root / "stellar.toml").write_text("[tasks]\nmax_processors = 4\npoll_interval = 1\n")
    env = {"STELLAR_MAX_PROCESSORS": "8", "STELLAR_QUEUES": "high,default"}
    async with App(root, env=env, poll_interval=0.1, processors=False) as app:
        settings = app.settings
        print("max_processors:", settings.max_processors)  # the variable beats the file
        print("queues:", settings.queues)
        print("poll_interval:", settings.poll_interval)  # App(...) beats both

    try:
        await App(root, max_procesors=2).start()
    except ConfigError as exc:
        print(exc)


if __name__ == "__main__":
    import tempfile

    asyncio.run(main(Path(tempfile.mkdtemp())))  # it writes a stellar.toml
