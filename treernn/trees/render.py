"""Pictures of trees: an indented text drawing for terminals, and SVG."""

from __future__ import annotations

import unicodedata
from typing import Callable, Optional

from treernn.trees.tree import Tree


def draw(tree: Tree) -> str:
    """The tree drawn one node per line, children indented under their parent::

        3
        ├── 2 The
        └── 4
            ├── 3 gorgeously
            └── 2 elaborate

    A node shows its label (``·`` when it has none) and its token when it has one.
    """
    lines: list[str] = []
    # stack of (node, prefix for this line, prefix for the children)
    stack: list[tuple[Tree, str, str]] = [(tree, "", "")]
    while stack:
        node, head, rest = stack.pop()
        label = "·" if node.label is None else str(node.label)
        text = label if node.token is None else f"{label} {node.token}"
        lines.append(head + text)
        kids = node.children
        for i in range(len(kids) - 1, -1, -1):
            last = i == len(kids) - 1
            stack.append((kids[i], rest + ("└── " if last else "├── "), rest + ("    " if last else "│   ")))
    return "\n".join(lines)


#: The SVG's font stack: a Latin sans, then fonts with CJK glyphs on Linux (Noto, Source Han,
#: WenQuanYi), macOS (PingFang) and Windows (Microsoft YaHei), then the viewer's sans-serif.
FONTS = ("DejaVu Sans, Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, PingFang SC, "
         "Microsoft YaHei, sans-serif")


def _text_width(text: str, size: float) -> float:
    """About how wide ``text`` is at font ``size`` px: East Asian wide and full-width characters
    one em, others 0.6 em."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else 0.6 * size for ch in text)


def to_svg(
    trees: list[Tree],
    titles: Optional[list[str]] = None,
    color: Optional[Callable[[Tree], str]] = None,
    text: Optional[Callable[[Tree], str]] = None,
) -> str:
    """A picture of ``trees`` (one under the other) as a standalone SVG document.

    Nodes are circles with ``text(node)`` inside (default: the label) filled with
    ``color(node)`` (default: light grey); a node with a token has the token written under it.
    A node carrying a token stands at that token's place in the sentence (dependency trees),
    any other node above the middle of its children, so phrase-structure and dependency trees
    both read left to right.
    """
    from xml.sax.saxutils import escape

    color = color or (lambda node: "#dddddd")
    text = text or (lambda node: "" if node.label is None else str(node.label))
    dx, dy, r, top = 64, 56, 15, 30
    parts, y0, width = [], 10, 200
    for k, tree in enumerate(trees):
        # each token a slot at least dx wide, wider for a long word (CJK characters count double)
        slots = [max(dx, _text_width(n.token or "", 12) + 12) for n in tree.token_nodes()]
        centres = [sum(slots[:i]) + slots[i] / 2 - dx / 2 for i in range(len(slots))]
        position = {id(n): i for i, n in enumerate(tree.token_nodes())}
        x: dict[int, float] = {}
        for node in tree.postorder():  # children first
            if id(node) in position:
                x[id(node)] = centres[position[id(node)]] / dx
            else:
                x[id(node)] = sum(x[id(c)] for c in node.children) / len(node.children)
        depth = {id(tree): 0}
        for node in reversed(tree.postorder()):  # parents first
            for child in node.children:
                depth[id(child)] = depth[id(node)] + 1
        height = max(depth.values())
        if titles is not None:
            parts.append(f'<text x="10" y="{y0 + 14}" font-size="14" font-weight="bold">{escape(titles[k])}</text>')
            width = max(width, round(20 + _text_width(titles[k], 14) * 1.1))  # bold runs wider
        y_base = y0 + top

        def cx(node: Tree) -> float:
            return 40 + x[id(node)] * dx

        def cy(node: Tree) -> float:
            return y_base + depth[id(node)] * dy

        for node in tree.postorder():
            for child in node.children:
                parts.append(f'<line x1="{cx(node):.1f}" y1="{cy(node):.1f}" x2="{cx(child):.1f}" '
                             f'y2="{cy(child):.1f}" stroke="#888" stroke-width="1.5"/>')
        for node in tree.postorder():
            parts.append(f'<circle cx="{cx(node):.1f}" cy="{cy(node):.1f}" r="{r}" fill="{color(node)}" '
                         f'stroke="#333"/>')
            inside = text(node)
            size = 11 if _text_width(inside, 11) <= 2 * r - 4 else 8  # a long label still fits its circle
            parts.append(f'<text x="{cx(node):.1f}" y="{cy(node) + 4:.1f}" font-size="{size}" '
                         f'text-anchor="middle">{escape(inside)}</text>')
            if node.token is not None:
                parts.append(f'<text x="{cx(node):.1f}" y="{cy(node) + r + 14:.1f}" font-size="12" '
                             f'text-anchor="middle">{escape(node.token)}</text>')
        width = max(width, round(80 + (max(x.values(), default=0)) * dx + max(slots, default=dx) / 2 - dx / 2))
        y0 = y_base + height * dy + r + 30
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y0}" '
            f'font-family="{FONTS}">\n<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(parts) + "\n</svg>\n")
