"""Conversions between :class:`Tree` and the trees of NLTK and spaCy.

NLTK and spaCy are imported only inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from treernn.errors import TreeStructureError
from treernn.trees.tree import Tree

if TYPE_CHECKING:  # pragma: no cover
    import nltk
    from spacy.tokens import Doc, Span


def from_nltk(tree: Union["nltk.Tree", str]) -> Tree:
    """An ``nltk.Tree`` as a :class:`Tree`.

    ``Tree('NN', ['dog'])`` (a preterminal) becomes a leaf with label ``NN`` and token ``dog``;
    a string child among other children becomes an unlabeled leaf.
    """
    import nltk

    if isinstance(tree, str):
        return Tree(token=tree)
    if not isinstance(tree, nltk.Tree):
        raise TreeStructureError(f"expected an nltk.Tree, got {type(tree).__name__}")
    order: list[nltk.Tree] = []
    stack = [tree]
    while stack:
        t = stack.pop()
        order.append(t)
        stack.extend(c for c in t if isinstance(c, nltk.Tree))
    built: dict[int, Tree] = {}
    for t in reversed(order):
        label = t.label() if t.label() != "" else None
        if len(t) == 0:
            raise TreeStructureError(f"nltk.Tree {label!r} has no children")
        if len(t) == 1 and isinstance(t[0], str):
            built[id(t)] = Tree(label, token=t[0])
        else:
            kids = [built.pop(id(c)) if isinstance(c, nltk.Tree) else Tree(token=c) for c in t]
            built[id(t)] = Tree(label, kids)
    return built[id(tree)]


def to_nltk(tree: Tree) -> "nltk.Tree":
    """A :class:`Tree` as an ``nltk.Tree``; labels become strings (``""`` for None).

    A labeled leaf becomes a preterminal ``Tree(label, [token])``; an unlabeled leaf becomes a
    plain string child. In a dependency tree each node's own token is placed among its
    children in sentence order.
    """
    import nltk

    if tree.is_leaf and tree.label is None:
        raise TreeStructureError("an unlabeled single-leaf tree has no nltk.Tree form; give it a label")
    built: dict[int, Any] = {}
    for node in tree.postorder():
        label = "" if node.label is None else str(node.label)
        if not node.children:
            built[id(node)] = node.token if node.label is None else nltk.Tree(label, [node.token])
            continue
        kids = [built.pop(id(c)) for c in node.children]
        if node.token is not None:
            before = sum(
                1 for c in node.children
                if c.index is not None and node.index is not None and c.index < node.index
            )
            kids.insert(before, node.token)
        built[id(node)] = nltk.Tree(label, kids)
    return built[id(tree)]


def from_spacy(doc: Union["Doc", "Span"], label_attr: str = "dep_") -> list[Tree]:
    """One dependency tree per sentence of a parsed spaCy ``Doc`` (or one for a ``Span``).

    Every token is a node carrying its text; its children are its syntactic dependents in
    sentence order; ``label`` is the token attribute ``label_attr`` (the dependency relation
    by default, ``"ROOT"`` at the root); ``index`` is the token's position in its sentence.

    Raises:
        TreeStructureError: the document has no dependency parse, or a sentence has not
            exactly one root.
    """
    from spacy.tokens import Doc

    if isinstance(doc, Doc):
        if len(doc) and not doc.has_annotation("DEP"):
            raise TreeStructureError(
                "the spaCy Doc has no dependency parse; use a pipeline with a 'parser'"
            )
        sentences = list(doc.sents) if len(doc) else []
    else:
        sentences = [doc]
    trees = []
    for sent in sentences:
        start, end = sent.start, sent.end
        nodes = {
            tok.i: Tree.__new__(Tree) for tok in sent
        }
        roots = []
        for tok in sent:
            node = nodes[tok.i]
            node.label = getattr(tok, label_attr)
            node.token = tok.text
            node.index = tok.i - start
            # tok.children is in sentence order; keep only dependents inside this sentence.
            node.children = [nodes[c.i] for c in tok.children if start <= c.i < end]
            if tok.head.i == tok.i or not (start <= tok.head.i < end):
                roots.append(node)
        if len(roots) != 1:
            raise TreeStructureError(
                f"sentence {sent.text[:40]!r} has {len(roots)} roots; expected one"
            )
        trees.append(roots[0])
    return trees
