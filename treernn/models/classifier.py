"""Classifiers: an encoder (tree or chain) plus a softmax head that computes its own loss.

Legend: B trees/sentences, N nodes in the batch, C classes, H_out encoder output size.

Examples are :class:`~treernn.trees.Tree` objects whose node labels are class ids (int) or
None (unlabeled). Tree classifiers predict a class for every node; chain classifiers predict
one class per sentence (the root label).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from treernn.batching import batch_trees, plan_tree
from treernn.batching.sequence import batch_sequences
from treernn.device import to_device
from treernn.encoders.base import Encoder
from treernn.errors import ModelError
from treernn.models.config import ModelConfig
from treernn.models.directory import save_model_dir
from treernn.nn.dropout import Dropout
from treernn.trees import Tree
from treernn.vocab import Vocab


@dataclass
class ClassifierOutput:
    """What a classifier returns.

    Attributes:
        logits: ``(B, C)`` one row per sentence (the root for trees).
        loss: mean cross-entropy over the trained positions (None without targets).
        node_logits: ``(N, C)`` for tree classifiers (batch node order), else None.
        loss_weight: the number of units ``loss`` is a mean over (trees, or labeled nodes),
            a scalar tensor; distributed training weights each process's loss by it.
    """

    logits: Tensor
    loss: Optional[Tensor] = None
    node_logits: Optional[Tensor] = None
    loss_weight: Optional[Tensor] = None  # how many units (trees or labeled nodes) loss averages


def _label_id(label: Any) -> int:
    if label is None:
        return -1
    if isinstance(label, bool) or not isinstance(label, int):
        raise ModelError(f"node labels must be class ids (int) or None, got {label!r}")
    return label


class _Classifier(nn.Module):
    """What both classifiers share: ``sentence_classes`` (None: every class may label a
    sentence; k: only the first k, the rest label phrases only, like the neutral class of
    Tai et al.'s binary SST model) and the sentence prediction it implies; the model's
    ``config`` (its :class:`~treernn.models.config.ModelConfig`, set by
    :func:`~treernn.models.build.build_model`) and ``vocab``, which :meth:`save_pretrained`
    writes beside the weights."""

    def __init__(self, sentence_classes: Optional[int] = None, config: Optional[ModelConfig] = None,
                 vocab: Optional[Vocab] = None) -> None:
        super().__init__()
        if sentence_classes is not None and sentence_classes < 1:
            raise ModelError(f"sentence_classes must be None or >= 1, got {sentence_classes}")
        self.sentence_classes = sentence_classes
        self.config = config
        self.vocab = vocab

    def save_pretrained(self, directory: Any, vocab: Optional[Vocab] = None) -> None:
        """Write the model directory: ``config.json``, ``model.safetensors``, ``vocab.json``;
        :func:`treernn.models.load_model` reads it back."""
        vocab = vocab if vocab is not None else self.vocab
        if self.config is None or vocab is None:
            raise ModelError("save_pretrained needs a model made by build_model (or loaded) and its "
                             "vocabulary (pass vocab=)")
        save_model_dir(directory, self.state_dict(), self.config, vocab)

    def predict_sentences(self, logits: Tensor) -> Tensor:
        """Inputs: logits ``(B, C)``. Outputs: ``(B,)`` the likeliest sentence class."""
        if self.sentence_classes is not None:
            logits = logits[:, : self.sentence_classes]
        return logits.argmax(-1)


class TreeClassifier(_Classifier):
    """A tree encoder with a softmax over every node (Tai et al. 2015, section 5.1).

    Args:
        encoder: a tree encoder (``forward(TreeBatch) -> EncoderOutput`` with per-node states).
        num_classes: C.
        dropout: dropout on the node states before the softmax.
        loss_on: ``"all"``: every labeled node (SST trains on every phrase); ``"root"``: roots.
        loss_reduction: with ``loss_on="all"``, ``"tree"``: the node losses are summed within a
            tree and averaged over the trees of the batch, as in Tai et al.'s code (a tree of
            40 phrases weighs 40 times a one-word tree); ``"node"``: averaged over all labeled
            nodes of the batch. The gradient's scale differs by the mean number of labeled
            nodes per tree (37 on SST), which changes the weight of L2 and of plain-SGD
            embedding updates against the data term.
        sentence_classes, config, vocab: see :class:`_Classifier`.
    """

    kind = "tree"

    def __init__(self, encoder: Encoder, num_classes: int, dropout: float = 0.5,
                 loss_on: Literal["all", "root"] = "all",
                 loss_reduction: Literal["tree", "node"] = "tree", sentence_classes: Optional[int] = None,
                 config: Optional[ModelConfig] = None, vocab: Optional[Vocab] = None) -> None:
        super().__init__(sentence_classes, config, vocab)
        if num_classes < 2:
            raise ModelError(f"num_classes must be >= 2, got {num_classes}")
        if loss_on not in ("all", "root"):
            raise ModelError(f"loss_on must be 'all' or 'root', got {loss_on!r}")
        if loss_reduction not in ("tree", "node"):
            raise ModelError(f"loss_reduction must be 'tree' or 'node', got {loss_reduction!r}")
        self.encoder = encoder
        self.dropout = Dropout(dropout)
        self.head = nn.Linear(encoder.get_output_dim(), num_classes)
        self.loss_on = loss_on
        self.loss_reduction = loss_reduction

    def plan(self, trees: Sequence[Tree], vocab: Vocab) -> list:
        """The per-tree work of :meth:`make_batch` done once (:func:`~treernn.batching.plan_tree`):
        the trainer plans the training trees once per run, not once per epoch."""
        return [plan_tree(t, vocab, _label_id) for t in trees]

    def make_batch(self, trees: Sequence[Any], vocab: Vocab, device: Any = None):
        """(batch, targets) for ``trees`` (Trees or plans from :meth:`plan`): targets are the
        per-node labels ``(N,)``, -1 unlabeled."""
        batch = batch_trees(trees, vocab, label_fn=_label_id, device=device)
        return batch, batch.labels

    def forward(self, batch: Any, targets: Optional[Tensor] = None) -> ClassifierOutput:
        """Inputs: a TreeBatch; targets ``(N,)`` long (-1 where unlabeled) or None.
        Outputs: :class:`ClassifierOutput` with logits ``(B, C)`` and node_logits ``(N, C)``."""
        out = self.encoder(batch)
        node_logits = self.head(self.dropout(out.states))  # (N, C)
        roots = batch.roots  # (B,)
        logits = node_logits[roots]  # (B, C)
        loss = weight = None
        if targets is not None:
            if self.loss_on == "root":
                loss = F.cross_entropy(logits, targets[roots], ignore_index=-1)
                weight = (targets[roots] >= 0).sum()
            elif self.loss_reduction == "tree":
                loss = F.cross_entropy(node_logits, targets, ignore_index=-1, reduction="sum") / len(roots)
                weight = torch.full((), len(roots), dtype=torch.long, device=logits.device)  # no host copy
            else:
                loss = F.cross_entropy(node_logits, targets, ignore_index=-1)
                weight = (targets >= 0).sum()
        return ClassifierOutput(logits=logits, loss=loss, node_logits=node_logits, loss_weight=weight)


class SequenceClassifier(_Classifier):
    """A chain encoder with a softmax over its final (pooled) vector; one label per sentence.

    Args:
        encoder: a chain encoder (``forward(SequenceBatch) -> EncoderOutput``).
        num_classes: C.
        dropout: dropout on the final vector before the softmax.
        sentence_classes, config, vocab: see :class:`_Classifier`.
    """

    kind = "sequence"

    def __init__(self, encoder: Encoder, num_classes: int, dropout: float = 0.5,
                 sentence_classes: Optional[int] = None, config: Optional[ModelConfig] = None,
                 vocab: Optional[Vocab] = None) -> None:
        super().__init__(sentence_classes, config, vocab)
        if num_classes < 2:
            raise ModelError(f"num_classes must be >= 2, got {num_classes}")
        self.encoder = encoder
        self.dropout = Dropout(dropout)
        self.head = nn.Linear(encoder.get_output_dim(), num_classes)

    def plan(self, trees: Sequence[Tree], vocab: Vocab) -> list:
        """The trees as they are (a sentence batch is cheap to build)."""
        return list(trees)

    def make_batch(self, trees: Sequence[Tree], vocab: Vocab, device: Any = None):
        """(batch, targets): the sentences of ``trees`` and their root labels ``(B,)``."""
        batch = batch_sequences(trees, vocab, device=device)
        targets = torch.tensor([_label_id(t.label) for t in trees], dtype=torch.long)
        return batch, to_device(targets, device)

    def forward(self, batch: Any, targets: Optional[Tensor] = None) -> ClassifierOutput:
        """Inputs: a SequenceBatch; targets ``(B,)`` long or None. Outputs: logits ``(B, C)``."""
        out = self.encoder(batch)
        logits = self.head(self.dropout(out.final))  # (B, C)
        loss = None if targets is None else F.cross_entropy(logits, targets, ignore_index=-1)
        weight = None if targets is None else (targets >= 0).sum()
        return ClassifierOutput(logits=logits, loss=loss, loss_weight=weight)
