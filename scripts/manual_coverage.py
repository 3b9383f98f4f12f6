"""Did the move of the README into the manual drop anything? Every non-blank line of README.md
at a git revision (default 7257f04, the last one-page README) is looked up in docs/*.md; the
lines not found verbatim are printed, each with the words of it that no page has, so an edited
line (a cross-reference turned into a link) can be told from a lost one.

    python scripts/manual_coverage.py [REV]
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(rev: str = "7257f04") -> int:
    old = subprocess.run(["git", "show", f"{rev}:README.md"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    manual = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").rglob("*.md")))
    lines = {line.strip() for line in manual.splitlines()}
    words = set(re.findall(r"\w+", manual))
    missing = lost = 0
    for number, line in enumerate(old, 1):
        text = line.strip()
        if not text or text in lines or text.replace("](docs/", "](") in lines:
            continue
        if text.startswith("#") and text.lstrip("#").strip() in {x.lstrip("#").strip() for x in lines}:
            continue  # a heading at another level
        missing += 1
        absent = [w for w in re.findall(r"\w+", text) if w not in words]
        lost += bool(absent)
        print(f"{rev}:README.md:{number}: {text[:100]}" + (f"  [words in no page: {' '.join(absent)}]" if absent else ""))
    print(f"{len([x for x in old if x.strip()])} non-blank lines; {missing} not verbatim in docs/; "
          f"{lost} with a word no page has")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
