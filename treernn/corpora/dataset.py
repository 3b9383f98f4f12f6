"""The one type every task gives: labeled trees (or :class:`Pair` items) per split (:class:`Dataset`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from treernn.trees import Tree


@dataclass(frozen=True)
class Pair:
    """Two sentences and what to learn of them: ``score`` (relatedness, in [1, K]) or
    ``label`` (a class id); either may be None where unknown (prediction)."""

    left: Tree
    right: Tree
    score: Optional[float] = None
    label: Optional[int] = None

    def tokens(self) -> list[str]:
        """Both sentences' tokens (for vocabularies and length-based batching)."""
        return self.left.tokens() + self.right.tokens()


@dataclass
class Dataset:
    """Labeled trees per split.

    Attributes:
        name: the task name.
        label_names: class id -> name.
        splits: split name -> trees (``train``, ``dev``, ``test`` and possibly more, such as
            ``test_long``).
        ambiguous: split name -> one flag per tree: its word sequence has parses with other
            labels (ambiguity corpora only).
        sentence_classes: when set, only the first ``sentence_classes`` classes are sentence
            labels; the others label phrases only (the neutral class of the binary SST task).
        item_ids, sources, phrases: text corpora only: each split's item ids, the files read
            (with their SHA-256 and the split), and how many labeled phrases were given and
            how many matched no node.
        pair_task, score_low: pair corpora only (splits of :class:`Pair`): ``relatedness``
            (label_names the integer scores LOW..HIGH, ``Pair.score`` moved to 1..K) or
            ``classes``.
    """

    name: str
    label_names: list[str]
    splits: dict[str, list[Tree]]
    ambiguous: dict[str, list[bool]] = field(default_factory=dict)
    sentence_classes: Optional[int] = None
    item_ids: dict[str, list[str]] = field(default_factory=dict)  # text corpora: each split's item ids
    sources: dict = field(default_factory=dict)  # text corpora: the files read, their SHA-256, the split
    phrases: dict = field(default_factory=dict)  # text corpora: labeled phrases given / matching no node
    pair_task: Optional[str] = None  # pair corpora: "relatedness" (Pair.score in 1..K) or "classes"
    score_low: int = 1  # relatedness: the file's score that is class 1 (its scale's LOW)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def relabeled(self, label_names: list[str]) -> "Dataset":
        """This dataset with its classes numbered as ``label_names`` (which must hold every one
        of its classes), e.g. a trained model's, so that its classifier can be kept. The trees
        are relabeled in place."""
        new = {name: i for i, name in enumerate(label_names)}
        old_to_new = [new[name] for name in self.label_names]
        for trees in self.splits.values():
            for tree in trees:
                for node in tree.postorder():
                    if isinstance(node.label, int):
                        node.label = old_to_new[node.label]
        self.label_names = list(label_names)
        return self

