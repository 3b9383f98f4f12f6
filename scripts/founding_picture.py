#!/usr/bin/env python
"""The README's picture of the founding example: both parses of 「两个外语学院的学生」 under the
bundled grammar zh, drawn by treernn (``treernn.trees.to_svg``) and rendered to PNG.

    .venv/bin/python scripts/founding_picture.py --font-dir DIR   # docs/founding-example.{svg,png}

The PNG needs resvg (``pip install resvg-py``, a renderer without system dependencies) and a
font with Chinese glyphs in ``--font-dir`` (e.g. Noto Sans CJK SC; PyPI's ``mplfonts`` carries
it): the SVG names a font stack, and a machine without such a font draws empty boxes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from treernn.parsing import CFGParser, quantified_span
from treernn.trees import to_svg

ROOT = Path(__file__).resolve().parents[1]
PHRASE = "两个外语学院的学生"
MEANINGS = {  # the phrase the quantifier opens -> what the phrase means
    "外语学院": "两个外语学院 的 学生: students of two foreign-language colleges (how many students is open)",
    "外语学院的学生": "两个 外语学院的学生: two students of the foreign-language college",
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "founding-example", help="path without suffix")
    ap.add_argument("--font-dir", action="append", default=[], help="a folder of fonts with CJK glyphs")
    args = ap.parse_args(argv)
    trees = CFGParser("zh").parse_each([PHRASE])[0]
    titles = []
    for tree in trees:
        start, end = quantified_span(tree)
        titles.append(MEANINGS["".join(tree.tokens()[start:end])])
    svg = to_svg(trees, titles=titles)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".svg").write_text(svg, encoding="utf-8")
    try:
        import resvg_py
    except ImportError:
        print("wrote the SVG; the PNG needs resvg: pip install resvg-py", file=sys.stderr)
        return 1
    png = resvg_py.svg_to_bytes(svg_string=svg, font_dirs=args.font_dir, zoom=1.5, background="#ffffff")
    args.out.with_suffix(".png").write_bytes(bytes(png))
    print(f"wrote {args.out}.svg and {args.out}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
