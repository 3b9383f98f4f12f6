"""Sentence-pair models: any encoder (tree or chain) reads both sentences with the same weights,
in one batch, and a head compares the two sentence vectors (Tai et al. 2015, section 4.2).

Legend: B pairs, H_out the encoder's output size, H_s the similarity layer's size, K the
number of score classes (relatedness 1..K) or of labels (entailment).

A pair example is a :class:`Pair`: two trees (a chain encoder reads their tokens) and a
target, a relatedness score in [1, K] or a class id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from treernn.batching import batch_trees, plan_tree
from treernn.corpora.dataset import Pair
from treernn.batching.sequence import batch_sequences
from treernn.device import to_device
from treernn.encoders.base import Encoder
from treernn.errors import ModelError
from treernn.vocab import Vocab


@dataclass
class PairOutput:
    """What a pair model returns.

    Attributes:
        logits: ``(B, K)`` log-probabilities' logits over the score classes or labels.
        scores: relatedness: ``(B,)`` the predicted score r^T p (Tai et al. 2015, eq. 16); None
            for labels.
        loss: relatedness: KL(p || p_hat) averaged over pairs (eq. 17's target); labels:
            cross-entropy; None without targets.
        loss_weight: how many pairs ``loss`` averages (distributed training).
    """

    logits: Tensor
    scores: Optional[Tensor] = None
    loss: Optional[Tensor] = None
    loss_weight: Optional[Tensor] = None


def sparse_target(scores: Tensor, classes: int) -> Tensor:
    """Tai et al. (2015), eq. 17: the distribution p over the classes 1..K whose expectation
    is y: p_{floor(y)+1} = y - floor(y), p_{floor(y)} = floor(y) - y + 1, 0 elsewhere.

    Inputs: scores ``(B,)`` in [1, K]. Outputs: ``(B, K)``."""
    y = scores.clamp(1, classes)  # (B,)
    low = y.floor()  # (B,)
    frac = y - low  # (B,) weight of the class above floor(y)
    target = torch.zeros(len(y), classes, dtype=torch.float32, device=y.device)  # (B, K)
    lo = (low.long() - 1).clamp(0, classes - 1)  # (B,) 0-based index of floor(y)
    hi = low.long().clamp(0, classes - 1)  # (B,) of floor(y) + 1 (= floor(y) when y = K)
    target.scatter_add_(1, lo.unsqueeze(1), (1 - frac).unsqueeze(1))  # (B, 1) into (B, K)
    target.scatter_add_(1, hi.unsqueeze(1), frac.unsqueeze(1))
    return target


class PairModel(nn.Module):
    """Tai et al.'s (2015) similarity model over any encoder, section 4.2:

    - h_x = h_L * h_R (eq. 15, elementwise), h_+ = |h_L - h_R|;
    - h_s = sigmoid(W_x h_x + W_+ h_+ + b_h);
    - relatedness: p_hat = softmax(W_p h_s + b_p) over the scores 1..K, y_hat = r^T p_hat with
      r = [1, ..., K] (eq. 16); trained with KL(p || p_hat), p the sparse target of eq. 17;
    - labels (entailment): the same features and layers, p_hat over the classes, cross-entropy.

    h_L and h_R are the encoder's sentence vectors (the root state of a tree, the final or
    pooled state of a chain), both sentences encoded by the same weights in one batch. Departure
    from the paper: dropout (``dropout``) on h_x and h_+ is available; Tai et al. use none
    (the default, 0).

    Args:
        encoder: a tree or chain encoder.
        task: ``"relatedness"`` (scores in [1, ``num_classes``]) or ``"classes"``.
        num_classes: K.
        tree: whether ``encoder`` reads trees (a tree encoder) or token sequences.
        similarity_dim: H_s (Tai et al.: 50).
        dropout: on the pair features (default 0).
    """

    kind = "pair"

    def __init__(self, encoder: Encoder, task: Literal["relatedness", "classes"], num_classes: int,
                 tree: bool, similarity_dim: int = 50, dropout: float = 0.0, config: Any = None,
                 vocab: Optional[Vocab] = None) -> None:
        super().__init__()
        if task not in ("relatedness", "classes"):
            raise ModelError(f"task must be 'relatedness' or 'classes', got {task!r}")
        if num_classes < 2:
            raise ModelError(f"num_classes must be >= 2, got {num_classes}")
        if similarity_dim < 1:
            raise ModelError(f"similarity_dim must be >= 1, got {similarity_dim}")
        self.encoder = encoder
        self.task = task
        self.num_classes = num_classes
        self.tree = tree
        h = encoder.get_output_dim()
        self.mult = nn.Linear(h, similarity_dim, bias=False)  # W_x
        self.diff = nn.Linear(h, similarity_dim)  # W_+ and b_h
        self.out = nn.Linear(similarity_dim, num_classes)  # W_p, b_p
        self.dropout = nn.Dropout(dropout)
        self.config = config
        self.vocab = vocab
        self.register_buffer("r", torch.arange(1, num_classes + 1, dtype=torch.float32), persistent=False)

    # ------------------------------------------------------------------ batches
    def plan(self, pairs: Sequence[Pair], vocab: Vocab) -> list:
        """The per-pair work of :meth:`make_batch` done once: tree plans for tree encoders."""
        if not self.tree:
            return list(pairs)
        return [(plan_tree(p.left, vocab, _no_label), plan_tree(p.right, vocab, _no_label), p) for p in pairs]

    def make_batch(self, pairs: Sequence[Any], vocab: Vocab, device: Any = None):
        """(batch, targets): the 2B sentences, lefts then rights, as one batch; targets ``(B,)``
        float scores (relatedness) or long class ids (-1 unknown)."""
        if self.tree:
            planned = [p if isinstance(p, tuple) else (p.left, p.right, p) for p in pairs]
            lefts, rights, items = [x[0] for x in planned], [x[1] for x in planned], [x[2] for x in planned]
            batch = batch_trees(lefts + rights, vocab, label_fn=_no_label, device=device)
        else:
            items = list(pairs)
            batch = batch_sequences([p.left for p in items] + [p.right for p in items], vocab, device=device)
        if self.task == "relatedness":
            targets = torch.tensor([math.nan if p.score is None else float(p.score) for p in items])
        else:
            targets = torch.tensor([-1 if p.label is None else int(p.label) for p in items], dtype=torch.long)
        return batch, to_device(targets, device)

    # ------------------------------------------------------------------ forward
    def features(self, batch: Any) -> Tensor:
        """Inputs: a batch of 2B sentences (lefts, then rights). Outputs: h_s ``(B, H_s)``."""
        final = self.encoder(batch).final  # (2B, H_out)
        h_left, h_right = final.chunk(2)  # (B, H_out) each
        h_mult = self.dropout(h_left * h_right)  # (B, H_out)  Tai et al. 2015, eq. 15
        h_abs = self.dropout((h_left - h_right).abs())  # (B, H_out)
        return torch.sigmoid(self.mult(h_mult) + self.diff(h_abs))  # (B, H_s)

    def forward(self, batch: Any, targets: Optional[Tensor] = None) -> PairOutput:
        """Inputs: a batch from :meth:`make_batch`; targets ``(B,)`` or None.
        Outputs: :class:`PairOutput` (logits ``(B, K)``; relatedness: scores ``(B,)``)."""
        logits = self.out(self.features(batch))  # (B, K)
        if self.task == "classes":
            loss = weight = None
            if targets is not None:
                loss = F.cross_entropy(logits, targets, ignore_index=-1)
                weight = (targets >= 0).sum()
            return PairOutput(logits=logits, loss=loss, loss_weight=weight)
        log_p = F.log_softmax(logits, -1)  # (B, K)
        scores = log_p.exp() @ self.r  # (B,)  eq. 16: y_hat = r^T p_hat
        loss = weight = None
        if targets is not None:
            known = ~torch.isnan(targets)  # (B,)
            target = sparse_target(torch.where(known, targets, torch.ones_like(targets)), self.num_classes)
            kl = F.kl_div(log_p, target, reduction="none").sum(-1)  # (B,) KL(p || p_hat)
            weight = known.sum()
            loss = (kl * known).sum() / weight.clamp(min=1)
        return PairOutput(logits=logits, scores=scores, loss=loss, loss_weight=weight)

    def predict(self, out: PairOutput) -> Tensor:
        """The prediction of each pair: its score (relatedness) or class id."""
        return out.scores if self.task == "relatedness" else out.logits.argmax(-1)


def _no_label(label: Any) -> int:
    return -1  # the pair's target is not on the trees' nodes

