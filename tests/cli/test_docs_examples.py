"""docs/management.md: every command it shows is run by docs/examples/management_cli.py,
and each of them succeeds on the sample application."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from click.testing import CliRunner

from stellar.cli.main import cli
from tests.api.test_docs_example import DOCS, blocks, load

EXAMPLE = DOCS / "examples" / "management_cli.py"


def test_the_page_shows_exactly_the_commands_the_example_runs() -> None:
    module = load(EXAMPLE)
    shown = [
        line.strip()
        for block in blocks((DOCS / "management.md").read_text(), "bash")
        for line in block.splitlines()
        if line.strip()
    ]
    assert all(line.startswith("stellar ") for line in shown)
    assert sorted(set(shown)) == sorted(set(module.COMMANDS))


def test_every_example_command_succeeds(tmp_path: Path) -> None:
    module = load(EXAMPLE)
    module.write_app(tmp_path)
    asyncio.run(module.fill(tmp_path))
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("STELLAR_")}
    runner = CliRunner(env=env)
    outputs = {}
    for command in module.COMMANDS:
        args = ["--app", str(tmp_path), *module.arguments(command)]
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, (command, result.output)
        outputs[command] = result.stdout
    assert "cleaned 1 worker(s)" in outputs["stellar clean-old-workers 1h"]
    assert outputs["stellar failed retry 0:60cd580f"].startswith("retried failed job 0:60cd580f")
    assert outputs["stellar failed remove 1:01fc5ecc"].startswith("removed failed job 0:01fc5ecc")
    assert (
        "retried 1 of 1" in outputs["stellar failed retry --task 'email.*' --exception SMTPError"]
    )
