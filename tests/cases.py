"""The labelled tiny-tree cases every test draws on: a single leaf, a unary chain, a binary
phrase-structure tree, an n-ary tree, a deep (right-branching) tree and a dependency tree,
with a vocabulary that covers them. Labels are SST-style ints (None: unlabeled)."""

from __future__ import annotations

import random

from treernn.encoders.presets import BINARY_TREE_CELLS
from treernn.trees import Tree, binarize, from_ptb, right_branching_tree
from treernn.vocab import Vocab

BINARY_CELLS = set(BINARY_TREE_CELLS)


def _dependency_tree() -> Tree:
    # "dogs chase cats": chase is the root, with dependents dogs (left) and cats (right)
    return Tree("ROOT", [Tree("nsubj", token="dogs", index=0), Tree("dobj", token="cats", index=2)],
                token="chase", index=1)


CASES = {
    "single-leaf": Tree(1, token="good"),
    "unary-chain": Tree(3, [Tree(2, [Tree(4, token="fine")])]),
    "binary": from_ptb("(3 (2 The) (4 (3 gorgeously) (2 elaborate)))", label_type=int),
    "n-ary": Tree(2, [Tree(1, token="a"), Tree(2, [Tree(0, token="b")]), Tree(3, token="c"),
                      Tree(4, [Tree(0, token="d"), Tree(1, token="e"), Tree(2, token="f")])]),
    "deep": right_branching_tree([f"w{i}" for i in range(12)]),
    "dependency": _dependency_tree(),
}
VOCAB = Vocab(["The", "gorgeously", "elaborate", "good", "fine", "a", "b", "c", "d", "e",
               "dogs", "chase", "cats"] + [f"w{i}" for i in range(0, 12, 2)])


def cases_for(cell: str) -> dict[str, Tree]:
    """The cases a cell accepts: binary cells see binarized phrase-structure trees."""
    if cell not in BINARY_CELLS:
        return dict(CASES)
    return {name: binarize(t) for name, t in CASES.items() if name != "dependency"}


def random_binary_tree(rng: random.Random, words: list[str], n: int) -> Tree:
    """A random binary phrase-structure tree over ``n`` words drawn from ``words`` (adjacent
    nodes merged at random until one is left)."""
    nodes = [Tree(None, token=rng.choice(words)) for _ in range(n)]
    while len(nodes) > 1:
        i = rng.randrange(len(nodes) - 1)
        nodes[i : i + 2] = [Tree(None, nodes[i : i + 2])]
    return nodes[0]
