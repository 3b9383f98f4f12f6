"""Trees: the one :class:`Tree` type, bracketed (PTB) text, and conversions.

Pure Python; NLTK and spaCy are imported only by the conversions that need them.
"""

from treernn.trees.convert import from_nltk, from_spacy, to_nltk
from treernn.trees.ptb import escape_token, from_ptb, iter_ptb, to_ptb, unescape_token
from treernn.trees.render import draw, to_svg
from treernn.trees.transform import (
    balanced_tree,
    binarize,
    collapse_unary,
    dependency_to_phrase,
    drop_tokens,
    is_joined_text,
    join_sentences,
    left_branching_tree,
    right_branching_tree,
)
from treernn.trees.tree import Tree

__all__ = [
    "Tree",
    "from_ptb",
    "iter_ptb",
    "to_ptb",
    "escape_token",
    "unescape_token",
    "from_nltk",
    "to_nltk",
    "from_spacy",
    "binarize",
    "collapse_unary",
    "dependency_to_phrase",
    "drop_tokens",
    "join_sentences",
    "is_joined_text",
    "balanced_tree",
    "left_branching_tree",
    "right_branching_tree",
    "draw",
    "to_svg",
]
