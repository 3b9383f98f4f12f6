"""Writing trees in bracketed (Penn Treebank) form, and PTB token escapes.

The writer reads only the node attributes (``label``, ``token``, ``index``, ``children``,
``postorder()``), so :mod:`treernn.trees.tree` can use it for ``str(tree)`` without the reader
(:mod:`treernn.trees.ptb`) and the tree module importing each other.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from treernn.errors import TreeStructureError

if TYPE_CHECKING:
    from treernn.trees.tree import Tree

# PTB escapes of characters that are brackets or special in the treebank format.
PTB_ESCAPES = {
    "-LRB-": "(",
    "-RRB-": ")",
    "-LCB-": "{",
    "-RCB-": "}",
    "-LSB-": "[",
    "-RSB-": "]",
    "\\/": "/",
    "\\*": "*",
}
_UNESCAPE_RE = re.compile("|".join(re.escape(k) for k in PTB_ESCAPES))


def unescape_token(token: str) -> str:
    """Undo PTB token escapes: ``-LRB-`` -> ``(``, ``\\/`` -> ``/`` and so on."""
    return _UNESCAPE_RE.sub(lambda m: PTB_ESCAPES[m.group(0)], token)


def escape_token(token: str) -> str:
    """Escape the characters a bracketed tree cannot hold in a token: ``(`` and ``)``."""
    return token.replace("(", "-LRB-").replace(")", "-RRB-")


# Only ASCII whitespace separates tokens: SST has tokens with a no-break space inside
# ("8\xa01\/2"), which must stay one token.
_ASCII_SPACE = " \t\n\r\f\v"


def _check_atom(value: str, what: str) -> str:
    if not value or any(ch in _ASCII_SPACE for ch in value) or "(" in value or ")" in value:
        raise TreeStructureError(f"{what} {value!r} cannot be written in bracketed form")
    return value


def to_ptb(tree: "Tree", escape: bool = True) -> str:
    """The bracketed form of ``tree`` on one line.

    Leaves are written ``(label token)``, or as a bare token when unlabeled. In a dependency
    tree (internal nodes carrying tokens) a node's own token is written as a bare token among
    its children, in sentence order, so the words read left to right.

    Args:
        escape: write ``(`` and ``)`` in tokens as ``-LRB-`` / ``-RRB-`` (needed to read the
            result back; turn off only for display).

    Raises:
        TreeStructureError: a token or label with whitespace in it, or a label with a bracket.
    """
    built: dict[int, str] = {}
    for node in tree.postorder():
        token = node.token
        if token is not None:
            token = escape_token(token) if escape else token
            if escape:
                _check_atom(token, "token")
        label = None if node.label is None else _check_atom(str(node.label), "label")
        if not node.children:
            built[id(node)] = token if label is None else f"({label} {token})"  # type: ignore[assignment]
            continue
        parts = [built.pop(id(c)) for c in node.children]
        if token is not None:
            # Dependency tree: put the head word among its dependents in sentence order.
            before = sum(
                1 for c in node.children
                if c.index is not None and node.index is not None and c.index < node.index
            )
            parts.insert(before, token)
        inner = " ".join(parts)
        built[id(node)] = f"({label} {inner})" if label is not None else f"( {inner})"
    return built[id(tree)]

