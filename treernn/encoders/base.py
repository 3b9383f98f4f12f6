"""The one encoder contract shared by tree and chain encoders.

Legend used in every shape comment of the project:
    B trees/sentences, N nodes in the batch, L sequence length, D directions (1 or 2),
    H hidden size, E input (embedding) size, K maximum number of children.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn


@dataclass
class EncoderOutput:
    """What every encoder returns.

    Attributes:
        states: per-node states ``(N, H_out)`` for tree encoders (batch node order), per-token
            states ``(B, L, H_out)`` for chain encoders (zeros at padding).
        final: one vector per sentence ``(B, H_out)`` (the root state for trees; the pooled
            state for chains).
        mask: ``(B, L)`` bool, True at real tokens, for chain encoders; None for tree encoders.
        memory: per-node memory cells ``(N, H)`` for Tree-LSTMs, else None.
    """

    states: torch.Tensor
    final: torch.Tensor
    mask: Optional[torch.Tensor] = None
    memory: Optional[torch.Tensor] = None


class Encoder(nn.Module):
    """Base of tree and chain encoders.

    An encoder owns its word embedding (``self.embedding``, an ``nn.Embedding`` of
    ``vocab_size x input_dim`` with ``padding_idx=0``; pretrained vectors are copied into
    ``self.embedding.weight``) and maps a batch to an :class:`EncoderOutput`.

    ``forward(batch, inputs=None)``: ``inputs`` replaces the embedding lookup when given
    (per node ``(N, E)`` for trees, per token ``(B, L, E)`` for chains), e.g. for gradcheck.
    """

    def get_input_dim(self) -> int:
        """E: the size of the word vectors the encoder reads."""
        raise NotImplementedError  # abstract

    def get_output_dim(self) -> int:
        """H_out: the size of ``EncoderOutput.states`` and ``.final`` vectors."""
        raise NotImplementedError  # abstract

    def is_bidirectional(self) -> bool:
        return False
