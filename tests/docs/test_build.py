"""The documentation site builds with mkdocs --strict (warnings are errors), offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strictly_and_needs_no_external_assets(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = os.environ | {"NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 17
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "--8&lt;--" not in html and "--8<--" not in html, f"{page}: an unresolved snippet"
        for external in ("fonts.googleapis", "fonts.gstatic", "unpkg.com", "cdn.jsdelivr"):
            assert external not in html, f"{page.name} loads {external}"
