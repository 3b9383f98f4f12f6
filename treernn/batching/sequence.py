"""The batch type of chain (sequence) encoders: padded token ids, lengths and a mask.

Build it only with :func:`batch_sequences`; never by hand (like PyTorch's ``PackedSequence``).

Legend: B sentences, L the longest sentence of the batch (number of tokens).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch

from treernn.errors import SequenceBatchError
from treernn.trees.tree import Tree
from treernn.vocab import Vocab

Device = Union[torch.device, str, None]


@dataclass(frozen=True)
class SequenceBatch:
    """B sentences as padded token ids. Built only by :func:`batch_sequences`.

    Attributes:
        token_ids: ``(B, L)`` long, on ``device``; sentence ``b`` holds its ids in
            ``token_ids[b, :lengths[b]]`` and PAD (id 0) after them.
        lengths: ``(B,)`` long, on ``device``; every length is >= 1.
        lengths_cpu: ``(B,)`` long, always on the CPU (the same values as ``lengths``), for
            ``pack_padded_sequence``, which needs CPU lengths; it never moves with ``.to()``.
        mask: ``(B, L)`` bool, on ``device``; True at real tokens, False at padding.
        tokens: the sentences as token lists (a copy; the caller's lists are not kept).

    Invariants: sentences keep the caller's order (nothing is sorted); ``L == max(lengths)``;
    ``mask[b, t] == (t < lengths[b])``.
    """

    token_ids: torch.Tensor
    lengths: torch.Tensor
    lengths_cpu: torch.Tensor
    mask: torch.Tensor
    tokens: tuple[tuple[str, ...], ...]

    def __repr__(self) -> str:
        B, L = self.token_ids.shape
        return f"SequenceBatch(B={B}, L={L}, device={self.token_ids.device})"

    def __len__(self) -> int:
        """B, the number of sentences."""
        return self.token_ids.size(0)

    @property
    def max_length(self) -> int:
        """L, the length of the longest sentence."""
        return self.token_ids.size(1)

    @property
    def device(self) -> torch.device:
        return self.token_ids.device

    def to(self, device: Device, non_blocking: bool = False) -> "SequenceBatch":
        """A new batch whose device tensors live on ``device`` (``lengths_cpu`` stays on the
        CPU); this batch is not changed."""
        return dataclasses.replace(
            self,
            token_ids=self.token_ids.to(device, non_blocking=non_blocking),
            lengths=self.lengths.to(device, non_blocking=non_blocking),
            mask=self.mask.to(device, non_blocking=non_blocking),
        )


def _sentence_tokens(sentence: Union[Sequence[str], Tree], b: int) -> tuple[str, ...]:
    if isinstance(sentence, Tree) or callable(getattr(sentence, "tokens", None)):
        return tuple(sentence.tokens())  # a Tree, or anything with tokens() (a training Phrase)
    if isinstance(sentence, str):
        raise SequenceBatchError(
            f"sentence {b} is a string, not a list of tokens; split it first, "
            f"e.g. batch_sequences([s.split() for s in sentences], vocab)"
        )
    return tuple(sentence)


def batch_sequences(
    sentences: Union[Sequence[Sequence[str]], Sequence[Tree]],
    vocab: Vocab,
    device: Device = None,
) -> SequenceBatch:
    """Batch tokenized sentences (or the sentences of trees, via ``tree.tokens()``).

    Args:
        sentences: B token lists, or B :class:`~treernn.trees.Tree` objects, or B objects with
            a ``tokens()`` method (mixing is fine).
        vocab: maps tokens to ids (unknown tokens to UNK, id 1; id 0 is PAD).
        device: where ``token_ids``, ``lengths`` and ``mask`` live (default: the CPU).

    Returns:
        A :class:`SequenceBatch` with ``token_ids`` ``(B, L)``.

    Raises:
        SequenceBatchError: no sentences, a sentence without tokens, or a sentence given as
            a string.
    """
    if len(sentences) == 0:
        raise SequenceBatchError("batch_sequences got no sentences; pass at least one token list")
    tokens = tuple(_sentence_tokens(s, b) for b, s in enumerate(sentences))
    for b, toks in enumerate(tokens):
        if len(toks) == 0:
            raise SequenceBatchError(
                f"sentence {b} has no tokens; drop empty sentences before batching"
            )
    lengths_list = [len(t) for t in tokens]
    max_len = max(lengths_list)
    ids = [vocab.encode(t) + [vocab.pad_id] * (max_len - len(t)) for t in tokens]
    token_ids = torch.tensor(ids, dtype=torch.long)  # (B, L)
    lengths_cpu = torch.tensor(lengths_list, dtype=torch.long)  # (B,)
    mask = torch.arange(max_len)[None, :] < lengths_cpu[:, None]  # (B, L)
    return SequenceBatch(
        token_ids=token_ids.to(device),
        lengths=lengths_cpu.to(device),
        lengths_cpu=lengths_cpu,
        mask=mask.to(device),
        tokens=tokens,
    )
