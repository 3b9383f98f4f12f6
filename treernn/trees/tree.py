"""The one tree type of treernn.

A :class:`Tree` node has an optional ``label``, an optional ``token`` and an ordered list of
``children``. Leaves always carry a token. Internal nodes carry a token only in dependency
trees (the head word of the node); there each token-bearing node also records ``index``, the
position of its token in the sentence, so that the sentence order can be recovered.

Pure Python, no torch. Every traversal here is iterative: trees of depth 10,000 work and no
Python recursion limit is ever hit.

Node order used across the project: **post-order** (children left to right, then the parent),
so every child comes before its parent and the root is last.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Sequence, Union

from treernn.errors import TreeStructureError
from treernn.trees.brackets import to_ptb

Label = Union[str, int, None]


class Tree:
    """A node of an ordered, labeled tree (and, through its children, the whole subtree).

    Args:
        label: the node's label (a string such as ``"NP"``, an integer sentiment class, or None).
        children: the ordered child subtrees; empty for a leaf.
        token: the word at this node. Required for a leaf; for internal nodes only in
            dependency trees.
        index: position of ``token`` in the sentence (set by dependency conversions; None in
            phrase-structure trees, where the order of the leaves is the sentence order).

    Raises:
        TreeStructureError: a leaf without a token.
    """

    __slots__ = ("label", "token", "children", "index")

    def __init__(
        self,
        label: Label = None,
        children: Optional[Sequence["Tree"]] = None,
        token: Optional[str] = None,
        index: Optional[int] = None,
    ) -> None:
        self.label = label
        self.children: list[Tree] = list(children) if children else []
        self.token = token
        self.index = index
        if not self.children and token is None:
            raise TreeStructureError(
                f"a leaf needs a token (label {label!r}); give token=... or children=[...]"
            )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def leaf(cls, token: str, label: Label = None, index: Optional[int] = None) -> "Tree":
        """A leaf carrying ``token``."""
        return cls(label=label, token=token, index=index)

    # ------------------------------------------------------------------ basic queries
    @property
    def is_leaf(self) -> bool:
        return not self.children

    def postorder(self) -> list["Tree"]:
        """All nodes, children before parents, left to right; the root is last."""
        out: list[Tree] = []
        stack: list[tuple[Tree, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded or not node.children:
                out.append(node)
            else:
                stack.append((node, True))
                for child in reversed(node.children):
                    stack.append((child, False))
        return out

    def preorder(self) -> list["Tree"]:
        """All nodes, parents before children, left to right; the root is first."""
        out: list[Tree] = []
        stack = [self]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out

    def __iter__(self) -> Iterator["Tree"]:
        """Iterates over the nodes in post-order."""
        return iter(self.postorder())

    def __len__(self) -> int:
        """Number of nodes."""
        return len(self.postorder())

    def leaves(self) -> list["Tree"]:
        """The leaf nodes, left to right."""
        return [n for n in self.postorder() if not n.children]

    def token_nodes(self) -> list["Tree"]:
        """The nodes that carry a token, in sentence order.

        For phrase-structure trees these are the leaves; for dependency trees every node, sorted
        by ``index``.
        """
        nodes = [n for n in self.postorder() if n.token is not None]
        if any(n.children for n in nodes):
            if any(n.index is None for n in nodes):
                raise TreeStructureError(
                    "an internal node carries a token but has no index; "
                    "dependency trees need index= on every token-bearing node"
                )
            nodes.sort(key=lambda n: n.index)
        return nodes

    def tokens(self) -> list[str]:
        """The sentence: the tokens in sentence order."""
        return [n.token for n in self.token_nodes()]  # type: ignore[misc]

    def heights(self) -> list[int]:
        """Height of every node in post-order (a leaf has height 0, a parent 1 + max child)."""
        order = self.postorder()
        height: dict[int, int] = {}
        out = []
        for node in order:
            h = 0 if not node.children else 1 + max(height[id(c)] for c in node.children)
            height[id(node)] = h
            out.append(h)
        return out

    def height(self) -> int:
        """Height of the root (0 for a single leaf)."""
        return self.heights()[-1]

    def spans(self) -> list[tuple[int, int]]:
        """``(start, end)`` token span of every node in post-order (end exclusive).

        Positions count tokens in sentence order (see :meth:`token_nodes`). For a
        non-projective dependency tree a span covers from the first to the last token of the
        subtree, which may include tokens of other subtrees.
        """
        positions = {id(n): i for i, n in enumerate(self.token_nodes())}
        span: dict[int, tuple[int, int]] = {}
        out = []
        for node in self.postorder():
            lo, hi = None, None
            if node.token is not None:
                p = positions[id(node)]
                lo, hi = p, p + 1
            for child in node.children:
                c_lo, c_hi = span[id(child)]
                lo = c_lo if lo is None else min(lo, c_lo)
                hi = c_hi if hi is None else max(hi, c_hi)
            span[id(node)] = (lo, hi)  # type: ignore[assignment]
            out.append((lo, hi))
        return out  # type: ignore[return-value]

    def labels(self) -> list[Label]:
        """Label of every node in post-order."""
        return [n.label for n in self.postorder()]

    def is_binary(self) -> bool:
        """True when every internal node has exactly two children and carries no token."""
        return all(
            (not n.children) or (len(n.children) == 2 and n.token is None) for n in self.postorder()
        )

    # ------------------------------------------------------------------ copying / mapping
    def map(
        self,
        label: Optional[Callable[[Label], Label]] = None,
        token: Optional[Callable[[str], str]] = None,
    ) -> "Tree":
        """A copy with ``label`` and/or ``token`` functions applied to every node."""
        built: dict[int, Tree] = {}
        for node in self.postorder():
            new = Tree.__new__(Tree)
            new.label = label(node.label) if label is not None else node.label
            new.token = (
                token(node.token) if (token is not None and node.token is not None) else node.token
            )
            new.index = node.index
            new.children = [built.pop(id(c)) for c in node.children]
            built[id(node)] = new
        return built[id(self)]

    def copy(self) -> "Tree":
        """A deep copy."""
        return self.map()

    # ------------------------------------------------------------------ comparison / display
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tree):
            return NotImplemented
        stack: list[tuple[Tree, Tree]] = [(self, other)]
        while stack:
            a, b = stack.pop()
            if (
                a.label != b.label
                or a.token != b.token
                or a.index != b.index
                or len(a.children) != len(b.children)
            ):
                return False
            stack.extend(zip(a.children, b.children))
        return True

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        text = to_ptb(self)
        if len(text) > 200:
            text = text[:197] + "..."
        return f"Tree({text})"

    def __str__(self) -> str:
        return to_ptb(self)

    # ------------------------------------------------------------------ dict form (JSON)
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready nested dict: ``label``, ``token`` / ``index`` when set, ``children``."""
        built: dict[int, dict[str, Any]] = {}
        for node in self.postorder():
            d: dict[str, Any] = {"label": node.label}
            if node.token is not None:
                d["token"] = node.token
            if node.index is not None:
                d["index"] = node.index
            if node.children:
                d["children"] = [built.pop(id(c)) for c in node.children]
            built[id(node)] = d
        return built[id(self)]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Tree":
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict):
            raise TreeStructureError(f"a tree node must be a JSON object, got {type(data).__name__}")
        # Iterative post-order over the dict nodes.
        order: list[dict[str, Any]] = []
        stack = [data]
        while stack:
            d = stack.pop()
            if not isinstance(d, dict):
                raise TreeStructureError(
                    f"a tree node must be a JSON object, got {type(d).__name__}"
                )
            order.append(d)
            stack.extend(d.get("children", []))
        built: dict[int, Tree] = {}
        for d in reversed(order):
            kids = [built.pop(id(c)) for c in d.get("children", [])]
            built[id(d)] = cls(d.get("label"), kids, d.get("token"), d.get("index"))
        return built[id(data)]
