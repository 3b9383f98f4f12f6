"""The batch type of chain (sequence) encoders: padded token ids, lengths and a mask.

Build it only with :func:`batch_sequences`; never by hand (like PyTorch's ``PackedSequence``).

Legend: B sentences, L the longest sentence of the batch (number of tokens).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch

from treernn.device import to_device
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
        pack_order: ``(B,)`` long, on ``device``: the sentences by decreasing length, in the
            order ``pack_padded_sequence(enforce_sorted=False)`` would put them.
        unpack_order: ``(B,)`` long, on ``device``: the inverse of ``pack_order``.
        sorted_lengths_cpu: ``(B,)`` long, on the CPU: ``lengths_cpu[pack_order]``.
        tokens: the sentences as token lists (a copy; the caller's lists are not kept).

    Invariants: sentences keep the caller's order (nothing is sorted); ``L == max(lengths)``;
    ``mask[b, t] == (t < lengths[b])``.
    """

    token_ids: torch.Tensor
    lengths: torch.Tensor
    lengths_cpu: torch.Tensor
    mask: torch.Tensor
    pack_order: torch.Tensor
    unpack_order: torch.Tensor
    sorted_lengths_cpu: torch.Tensor
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
        """A new batch whose device tensors live on ``device`` (``lengths_cpu`` and
        ``sorted_lengths_cpu`` stay on the CPU); this batch is not changed."""
        return dataclasses.replace(
            self,
            token_ids=self.token_ids.to(device, non_blocking=non_blocking),
            lengths=self.lengths.to(device, non_blocking=non_blocking),
            mask=self.mask.to(device, non_blocking=non_blocking),
            pack_order=self.pack_order.to(device, non_blocking=non_blocking),
            unpack_order=self.unpack_order.to(device, non_blocking=non_blocking),
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
    B = len(tokens)
    lengths_cpu = torch.tensor(lengths_list, dtype=torch.long)  # (B,)
    # the order pack_padded_sequence(enforce_sorted=False) itself uses (ties as torch.sort puts
    # them), so that the packed rows, and the float sums over them, are exactly as before
    sorted_lengths_cpu, pack_order = torch.sort(lengths_cpu, descending=True)
    unpack_order = torch.empty_like(pack_order)
    unpack_order[pack_order] = torch.arange(B)
    # token ids, lengths and both orders go to the device in one transfer (pinned on a GPU)
    flat = torch.cat([torch.tensor(ids, dtype=torch.long).view(-1), lengths_cpu, pack_order, unpack_order])
    flat = to_device(flat, device)
    token_ids = flat[:B * max_len].view(B, max_len)  # (B, L)
    lengths, pack_order_d, unpack_order_d = flat[B * max_len:].view(3, B)  # (B,) each
    mask = torch.arange(max_len, device=flat.device)[None, :] < lengths[:, None]  # (B, L), made there
    return SequenceBatch(
        token_ids=token_ids,
        lengths=lengths,
        lengths_cpu=lengths_cpu,
        mask=mask,
        pack_order=pack_order_d,
        unpack_order=unpack_order_d,
        sorted_lengths_cpu=sorted_lengths_cpu,
        tokens=tokens,
    )
