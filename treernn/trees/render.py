"""An indented text drawing of a tree, for terminals."""

from __future__ import annotations

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
