"""docs/management.md: its Python blocks are the sections of docs/examples/management.py,
and that file runs, on every backend."""

from __future__ import annotations

import importlib.util
import re
import textwrap
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLE = DOCS / "examples" / "management.py"
SECTION = re.compile(r"# --8<-- \[start:(\w+)\]\n(.*?)\n[ \t]*# --8<-- \[end:\1\]", re.S)


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def blocks(markdown: str, language: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", markdown, re.S)]


def test_every_python_block_of_the_page_is_a_section_of_the_example() -> None:
    sections = {
        name: textwrap.dedent(body).strip() for name, body in SECTION.findall(EXAMPLE.read_text())
    }
    assert set(sections) == {"queues", "delayed", "recurrent", "stats", "workers", "failed"}
    shown = [block.strip() for block in blocks((DOCS / "management.md").read_text(), "python")]
    assert sorted(shown) == sorted(sections.values())


async def test_the_management_example_runs(backend_url: str, tmp_path: Path) -> None:
    module = load(EXAMPLE)
    await module.main(tmp_path, backend_url)
