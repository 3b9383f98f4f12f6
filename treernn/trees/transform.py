"""Tree transformations: binarization, unary collapsing, dependency -> phrase structure, and
data-independent trees over a plain token list.

All functions return new trees and never change their input. All are iterative.
"""

from __future__ import annotations

from typing import Callable, Literal, Optional, Sequence

from treernn.errors import TreeStructureError
from treernn.trees.tree import Label, Tree

Factor = Literal["right", "left"]


def _has_internal_tokens(tree: Tree) -> bool:
    return any(n.children and n.token is not None for n in tree.postorder())


def binarize(tree: Tree, factor: Factor = "right", collapse: bool = True) -> Tree:
    """A binary copy of a phrase-structure tree.

    A node with k > 2 children is split into a chain of binary nodes. With right factoring
    ``(A c1 c2 c3)`` becomes ``(A c1 (None c2 c3))``; with left factoring
    ``(A (None c1 c2) c3)``. The new intermediate nodes are unlabeled (label None), so
    label-based losses skip them. With ``collapse`` (default) unary chains are collapsed
    first (see :func:`collapse_unary`), so the result satisfies :meth:`Tree.is_binary`.

    Raises:
        TreeStructureError: the tree is a dependency tree (internal nodes carry tokens);
            convert it with :func:`dependency_to_phrase` first.
    """
    if factor not in ("right", "left"):
        raise TreeStructureError(f"factor must be 'right' or 'left', got {factor!r}")
    if _has_internal_tokens(tree):
        raise TreeStructureError(
            "binarize() needs a phrase-structure tree, but internal nodes carry tokens "
            "(a dependency tree); call dependency_to_phrase(tree) instead"
        )
    if collapse:
        tree = collapse_unary(tree)
    built: dict[int, Tree] = {}
    for node in tree.postorder():
        if not node.children:
            built[id(node)] = Tree(node.label, token=node.token, index=node.index)
            continue
        kids = [built.pop(id(c)) for c in node.children]
        while len(kids) > 2:
            if factor == "right":
                kids = kids[:-2] + [Tree(None, kids[-2:])]
            else:
                kids = [Tree(None, kids[:2])] + kids[2:]
        built[id(node)] = Tree(node.label, kids)
    return built[id(tree)]


def collapse_unary(tree: Tree, keep: Literal["top", "bottom"] = "top") -> Tree:
    """Collapse every chain of single-child nodes into one node.

    ``(NP (NN dog))`` becomes the leaf ``(NP dog)`` with ``keep="top"`` or ``(NN dog)`` with
    ``keep="bottom"``. A chain that ends in an internal node keeps that node's children.
    """
    if keep not in ("top", "bottom"):
        raise TreeStructureError(f"keep must be 'top' or 'bottom', got {keep!r}")
    built: dict[int, Tree] = {}
    for node in tree.postorder():
        if not node.children:
            built[id(node)] = Tree(node.label, token=node.token, index=node.index)
            continue
        kids = [built.pop(id(c)) for c in node.children]
        if len(kids) == 1 and node.token is None:
            only = kids[0]
            if keep == "top":
                only.label = node.label
            built[id(node)] = only
        else:
            built[id(node)] = Tree(node.label, kids, node.token, node.index)
    return built[id(tree)]


def dependency_to_phrase(tree: Tree, head_label: Optional[Label] = None) -> Tree:
    """A binary phrase-structure tree from a dependency tree, so binary cells can run on it.

    Every dependency node becomes a phrase: its head word is a leaf (label ``head_label``),
    then its right dependents are attached nearest first, then its left dependents nearest
    first (the usual X-bar order: ``(L2 (L1 ((h R1) R2)))``). The node that spans the whole
    phrase takes the dependency node's label; the intermediate nodes are unlabeled. A word
    without dependents becomes a leaf with the node's label. Leaves keep ``index``, and the
    leaves read left to right in sentence order for projective trees.

    A text of several sentences (:func:`join_sentences`: a root without a token over one
    dependency tree per sentence) becomes the sentences' phrase structures joined left to
    right, ``((s1 s2) s3)``, the top node taking the root's label.

    Raises:
        TreeStructureError: a token-bearing node without ``index``.
    """
    if is_joined_text(tree):
        phrases = [dependency_to_phrase(child, head_label) for child in tree.children]
        joined = phrases[0]
        for phrase in phrases[1:]:
            joined = Tree(None, [joined, phrase])
        joined.label = tree.label
        return joined
    built: dict[int, Tree] = {}
    for node in tree.postorder():
        if node.token is None:
            raise TreeStructureError(
                "dependency_to_phrase() needs a token on every node (a dependency tree); "
                "use binarize() for phrase-structure trees"
            )
        if not node.children:
            built[id(node)] = Tree(node.label, token=node.token, index=node.index)
            continue
        if node.index is None or any(c.index is None for c in node.children):
            raise TreeStructureError("dependency_to_phrase() needs index= on every node")
        kids = [(c.index, built.pop(id(c))) for c in node.children]
        left = [t for i, t in kids if i < node.index]  # type: ignore[operator]
        right = [t for i, t in kids if i > node.index]  # type: ignore[operator]
        phrase = Tree(head_label, token=node.token, index=node.index)
        for dep in right:  # nearest right dependent first
            phrase = Tree(None, [phrase, dep])
        for dep in reversed(left):  # then nearest left dependent first
            phrase = Tree(None, [dep, phrase])
        phrase.label = node.label
        built[id(node)] = phrase
    return built[id(tree)]


def join_sentences(sentences: Sequence[Tree], label: Label = None) -> Tree:
    """One tree for a text of several sentences: the sentence itself when there is one, else a
    root without a token (label ``label``) whose children are the sentences in order.

    This is treernn's rule for a text that the parser splits into sentences, the same in
    training and in labeling text: the Child-Sum Tree-LSTM reads the root as a node with one
    child per sentence; binary cells read the sentences' phrase structures joined left to right
    (:func:`dependency_to_phrase`); chain models read the tokens in order.

    Raises:
        TreeStructureError: no sentences.
    """
    if not sentences:
        raise TreeStructureError("cannot join an empty list of sentences")
    if len(sentences) == 1:
        return sentences[0]
    shifted, offset = [], 0
    for sentence in sentences:  # token positions count through the whole text
        copy = sentence.map()
        indexed = [n for n in copy.postorder() if n.index is not None]
        for node in indexed:
            node.index += offset
        offset = max((n.index for n in indexed), default=offset - 1) + 1 if indexed else offset
        shifted.append(copy)
    return Tree(label, shifted)


def is_joined_text(tree: Tree) -> bool:
    """True for a root made by :func:`join_sentences` over dependency trees: no token, and
    every node below it carries one."""
    return (tree.token is None and len(tree.children) > 1
            and all(node.token is not None for child in tree.children for node in child.postorder()))


def _check_tokens(tokens: Sequence[str]) -> list[str]:
    tokens = list(tokens)
    if not tokens:
        raise TreeStructureError("cannot build a tree over an empty token list")
    return tokens


def balanced_tree(tokens: Sequence[str]) -> Tree:
    """A balanced binary tree over ``tokens`` (split in the middle, the left half larger)."""
    tokens = _check_tokens(tokens)
    level = [Tree(token=t) for t in tokens]
    # Build bottom-up by halving spans: iterative over an explicit stack of spans.
    spans: list[tuple[int, int]] = []
    stack = [(0, len(level))]
    while stack:
        lo, hi = stack.pop()
        spans.append((lo, hi))
        if hi - lo > 1:
            mid = lo + (hi - lo + 1) // 2
            stack.append((lo, mid))
            stack.append((mid, hi))
    built: dict[tuple[int, int], Tree] = {}
    for lo, hi in reversed(spans):
        if hi - lo == 1:
            built[(lo, hi)] = level[lo]
        else:
            mid = lo + (hi - lo + 1) // 2
            built[(lo, hi)] = Tree(None, [built.pop((lo, mid)), built.pop((mid, hi))])
    return built[(0, len(level))]


def left_branching_tree(tokens: Sequence[str]) -> Tree:
    """``(((w1 w2) w3) w4)``: each word joins everything before it."""
    tokens = _check_tokens(tokens)
    tree = Tree(token=tokens[0])
    for tok in tokens[1:]:
        tree = Tree(None, [tree, Tree(token=tok)])
    return tree


def right_branching_tree(tokens: Sequence[str]) -> Tree:
    """``(w1 (w2 (w3 w4)))``: each word joins everything after it."""
    tokens = _check_tokens(tokens)
    tree = Tree(token=tokens[-1])
    for tok in reversed(tokens[:-1]):
        tree = Tree(None, [Tree(token=tok), tree])
    return tree


def drop_tokens(tree: Tree, drop: Callable[[str], bool]) -> Optional[Tree]:
    """A copy of ``tree`` without the token-bearing nodes whose token ``drop`` selects (e.g.
    spaCy's whitespace tokens); None when nothing is left.

    A dropped node's children move up to its parent, in its place; a node left with neither
    children nor a token goes too. In a dependency tree (nodes with ``index``) children are
    kept in sentence order and the indices renumbered 0, 1, ...; when a dropped root leaves
    several subtrees, the first (in sentence order) becomes the root and heads the others.
    """
    built: dict[int, list[Tree]] = {}
    for node in tree.postorder():
        kids = [k for c in node.children for k in built[id(c)]]
        if node.index is not None or any(k.index is not None for k in kids):
            kids.sort(key=lambda k: -1 if k.index is None else k.index)
        if node.token is not None and drop(node.token):
            built[id(node)] = kids
        elif node.token is None and not kids:
            built[id(node)] = []
        else:
            built[id(node)] = [Tree(node.label, kids, node.token, node.index)]
    roots = built[id(tree)]
    if not roots:
        return None
    root = roots[0]
    if len(roots) > 1:
        root.children = sorted(root.children + roots[1:], key=lambda k: -1 if k.index is None else k.index)
    if any(n.index is not None for n in root.postorder()):
        for i, node in enumerate(sorted((n for n in root.postorder() if n.index is not None),
                                        key=lambda n: n.index)):
            node.index = i
    return root
