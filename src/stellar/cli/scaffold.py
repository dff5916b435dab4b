"""Files written by ``stellar init`` and ``stellar make-task``."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from stellar.errors import StellarError

CONFIG = """\
# Settings of this Stellar application; every key is optional.
# Environment variables STELLAR_<KEY> (e.g. STELLAR_BACKEND) override them.
[tasks]
backend = "sqlite:///.stellar/tasks.db"   # or "redis://127.0.0.1:6379/0"
queues = ["*"]                              # queues polled, in priority order
scheduler = true                            # run the leader-elected scheduler here
min_processors = 1
max_processors = 4
"""

TASK = '''\
"""{description}"""

from stellar import task


@task(
    name={name!r},
    description={description!r},
    queue={queue!r},{frequency_line}
)
async def {function}(api, params):
    api.log.info("{name} ran with %r", params)
'''

GITIGNORE = ".stellar/\n__pycache__/\n"


def snake(name: str) -> str:
    """``auth.sessionValidation`` -> ``session_validation``: a file and function name."""
    last = name.rsplit(".", 1)[-1]
    words = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", last).lower()
    words = re.sub(r"\W+", "_", words).strip("_") or "task"
    if words[0].isdigit() or keyword.iskeyword(words):
        words = f"task_{words}"
    return words


def task_source(name: str, *, queue: str, frequency: float, description: str) -> str:
    frequency_line = f"\n    frequency={frequency!r}," if frequency else ""
    return TASK.format(
        name=name,
        description=description,
        queue=queue,
        frequency_line=frequency_line,
        function=snake(name),
    )


def make_task(
    root: Path,
    name: str,
    *,
    module: str,
    queue: str = "default",
    frequency: float = 0,
    description: str = "Change this to describe your task",
    force: bool = False,
) -> Path:
    """Write ``modules/<module>/tasks/<snake name>.py``; refuses to overwrite unless
    ``force``."""
    if not name.strip() or any(ord(c) < 32 for c in name):
        raise StellarError(f"invalid task name {name!r}")
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", module):
        raise StellarError(f"invalid module name {module!r}: use letters, digits, - and _")
    if frequency < 0:
        raise StellarError(f"--frequency must be >= 0 seconds, got {frequency}")
    path = root / "modules" / module / "tasks" / f"{snake(name)}.py"
    if path.exists() and not force:
        raise StellarError(f"{path} already exists (use --force to overwrite it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    source = task_source(name, queue=queue, frequency=frequency, description=description)
    path.write_text(source, encoding="utf-8")
    return path


def init(root: Path) -> list[Path]:
    """A new application that runs as is: config plus one periodic example task."""
    config = root / "stellar.toml"
    if config.exists():
        raise StellarError(f"{config} already exists: {root} is already an application")
    root.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG, encoding="utf-8")
    (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    task = make_task(
        root, "example.hello", module="example", frequency=5,
        description="Say hello every five seconds",
    )  # fmt: skip
    return [config, root / ".gitignore", task]
