"""Every plugin example of the documentation (docs/examples/plugins*.py) runs, prints what
docs/plugins.md shows (docs/examples/output/<name>.txt), and is included by the page."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("plugins*.py"))


@pytest.mark.parametrize("name", EXAMPLE_FILES)
async def test_the_example_prints_what_the_page_shows(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # keep docs/ free of __pycache__
    for variable in [v for v in os.environ if v.startswith("STELLAR_")]:
        monkeypatch.delenv(variable)
    spec = importlib.util.spec_from_file_location(f"docs_{name[:-3]}", EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    await module.main(tmp_path)
    expected = (EXAMPLES / "output" / f"{name[:-3]}.txt").read_text(encoding="utf-8")
    assert capsys.readouterr().out == expected


def test_every_plugin_example_is_on_the_page() -> None:
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    shown = set(re.findall(r'--8<-- "([^"]+)"', page))
    assert EXAMPLE_FILES, "no examples found"
    for name in EXAMPLE_FILES:
        assert name in shown, f"docs/plugins.md does not include {name}"
        assert f"output/{name[:-3]}.txt" in shown, "docs/plugins.md does not show its output"
