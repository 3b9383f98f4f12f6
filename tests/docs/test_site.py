"""The manual builds: ``mkdocs build --strict`` (a broken link or anchor, a page outside the nav,
a missing snippet or a docstring the API reference cannot render fails it)."""

from __future__ import annotations

import os
import subprocess
import sys

from examples import ROOT, pages


def test_mkdocs_build_strict(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    for page in pages()[1:]:
        html = tmp_path / "site" / page.relative_to(ROOT / "docs").with_suffix(".html")
        assert html.exists(), f"{page} was not built"
    assert "Keep a Changelog" in (tmp_path / "site" / "changelog.html").read_text(encoding="utf-8")


def test_readme_links_resolve():
    # the README is read on the repository's page, not in the site: its relative links must
    # name files that exist (anchors included)
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        assert (ROOT / path).exists(), f"README.md links to {path}, which does not exist"
        if anchor:
            headings = (ROOT / path).read_text(encoding="utf-8")
            slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                     for h in re.findall(r"^#+ (.*)$", headings, re.M)}
            assert anchor in slugs, f"README.md links to {target}: no such heading"
