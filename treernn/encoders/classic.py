"""The classic recurrent text-classification encoders (the head is separate).

* :class:`BiLSTMEncoder`: embedding -> BiLSTM -> concat of the final states, or their mean.
* :class:`BiLSTMLSTMEncoder`: embedding -> BiLSTM -> LSTM -> the LSTM's final state.
* :class:`RCNNEncoder`: Lai et al. (2015) recurrent convolutional network.

All follow the encoder contract of :mod:`treernn.encoders.base` and read a
:class:`~treernn.batching.sequence.SequenceBatch`.

Legend: B sentences, L sequence length, E embedding size, H hidden size, C context size.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from treernn.batching.sequence import SequenceBatch
from treernn.encoders.base import Encoder, EncoderOutput
from treernn.encoders.sequence import (
    EncoderError,
    SequenceEncoder,
    embed_or_inputs,
    last_states,
    pool_states,
    run_fused,
)
from treernn.nn.dropout import Dropout


def _check_dims(owner: str, **dims: int) -> None:
    for name, value in dims.items():
        if not isinstance(value, int) or value < 1:
            raise EncoderError(f"{owner}: {name} must be a positive int, got {value!r}")


class BiLSTMEncoder(SequenceEncoder):
    """Embedding -> BiLSTM -> concat of the two directions' final states (or the mean).

    ``SequenceEncoder(cell='lstm', bidirectional=True)`` with pooling ``'last'`` or ``'mean'``;
    ``get_output_dim()`` is 2H. Inputs/Outputs as :class:`SequenceEncoder`.
    """

    def __init__(self, vocab_size: int, input_dim: int, hidden_dim: int, num_layers: int = 1,
                 dropout: float = 0.0, pooling: str = "last", padding_idx: int = 0, *,
                 device=None, dtype=None) -> None:
        if pooling not in ("last", "mean"):
            raise EncoderError(f"BiLSTMEncoder pools with 'last' or 'mean', got {pooling!r}; "
                               f"for 'max' use SequenceEncoder(cell='lstm', pooling='max')")
        super().__init__(vocab_size, input_dim, hidden_dim, "lstm", num_layers, True, dropout,
                         pooling, padding_idx, device=device, dtype=dtype)


class BiLSTMLSTMEncoder(Encoder):
    """Embedding -> BiLSTM -> (dropout) -> LSTM; ``final`` is the LSTM's last state.

    Args:
        vocab_size, input_dim (E), padding_idx: the embedding.
        hidden_dim: H per direction of the BiLSTM.
        top_dim: the LSTM's size (default: H); ``get_output_dim()``.
        dropout: dropout on the BiLSTM's states before the LSTM.

    Inputs: batch, inputs
        - batch ``(B, L)`` SequenceBatch; inputs ``(B, L, E)`` optional, replaces the embedding.

    Outputs: EncoderOutput with
        - states ``(B, L, top_dim)`` the LSTM's states, zeros at padding;
        - final ``(B, top_dim)`` its state at the last real token; mask ``(B, L)``.
    """

    def __init__(self, vocab_size: int, input_dim: int, hidden_dim: int,
                 top_dim: Optional[int] = None, dropout: float = 0.0, padding_idx: int = 0, *,
                 device=None, dtype=None) -> None:
        super().__init__()
        top_dim = hidden_dim if top_dim is None else top_dim
        _check_dims("BiLSTMLSTMEncoder", vocab_size=vocab_size, input_dim=input_dim,
                    hidden_dim=hidden_dim, top_dim=top_dim)
        if not 0 <= dropout < 1:
            raise EncoderError(f"BiLSTMLSTMEncoder: dropout must be in [0, 1), got {dropout!r}")
        self.input_dim, self.hidden_dim, self.top_dim = input_dim, hidden_dim, top_dim
        fk = {"device": device, "dtype": dtype}
        self.embedding = nn.Embedding(vocab_size, input_dim, padding_idx=padding_idx, **fk)
        self.bilstm = nn.LSTM(input_dim, hidden_dim, batch_first=True, bidirectional=True, **fk)
        self.dropout = Dropout(dropout)
        self.lstm = nn.LSTM(2 * hidden_dim, top_dim, batch_first=True, **fk)

    def reset_parameters(self) -> None:
        for m in (self.embedding, self.bilstm, self.lstm):
            m.reset_parameters()

    def get_input_dim(self) -> int:
        return self.input_dim

    def get_output_dim(self) -> int:
        return self.top_dim

    def forward(self, batch: SequenceBatch, inputs: Optional[Tensor] = None) -> EncoderOutput:
        x = embed_or_inputs(self, batch, inputs)  # (B, L, E)
        mid, _ = run_fused(self.bilstm, x, batch)  # (B, L, 2H)
        states, h_n = run_fused(self.lstm, self.dropout(mid), batch)  # (B, L, top), (1, B, top)
        return EncoderOutput(states=states, final=last_states(h_n, 1, 1), mask=batch.mask)

    def extra_repr(self) -> str:
        return f"output_dim={self.top_dim}"


class RCNNEncoder(Encoder):
    r"""Recurrent convolutional network for text classification (Lai et al. 2015, AAAI).

    .. math::
        c_l(w_i) &= f(W^{(l)} c_l(w_{i-1}) + W^{(sl)} e(w_{i-1}))  &\text{(eq. 1)} \\
        c_r(w_i) &= f(W^{(r)} c_r(w_{i+1}) + W^{(sr)} e(w_{i+1}))  &\text{(eq. 2)} \\
        x_i &= [c_l(w_i); e(w_i); c_r(w_i)]                          &\text{(eq. 3)} \\
        y^{(2)}_i &= \tanh(W^{(2)} x_i + b^{(2)})                    &\text{(eq. 4)} \\
        y^{(3)} &= \max_i y^{(2)}_i                                  &\text{(eq. 5)}

    The left context of a word is the forward RNN's state *before* the word, the right context
    the backward RNN's state after it (both exclude the word itself), as in the paper; the first
    word's left context and the last word's right context are the learned ``left_init`` and
    ``right_init`` (the paper's shared :math:`c_l(w_1)`, :math:`c_r(w_n)`), which are also the
    recurrences' initial states. The contexts come from one fused bidirectional ``cell``
    (``'rnn_tanh'``, the paper's :math:`f`, by default; ``'lstm'`` and ``'gru'`` are common
    variants). The output layer (eqs. 6-7) is the separate head.

    Args:
        vocab_size, input_dim (E), padding_idx: the embedding.
        hidden_dim: the size of :math:`y^{(2)}`; ``get_output_dim()``.
        context_dim: C, the size of each context vector (default: hidden_dim).
        cell: ``'rnn_tanh'``, ``'lstm'`` or ``'gru'``.

    Inputs: batch, inputs
        - batch ``(B, L)`` SequenceBatch; inputs ``(B, L, E)`` optional, replaces the embedding.

    Outputs: EncoderOutput with
        - states ``(B, L, hidden_dim)`` :math:`y^{(2)}`, zeros at padding;
        - final ``(B, hidden_dim)`` :math:`y^{(3)}`, the max over real tokens; mask ``(B, L)``.
    """

    CELLS = {"rnn_tanh": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(self, vocab_size: int, input_dim: int, hidden_dim: int,
                 context_dim: Optional[int] = None, cell: str = "rnn_tanh", padding_idx: int = 0,
                 *, device=None, dtype=None) -> None:
        super().__init__()
        context_dim = hidden_dim if context_dim is None else context_dim
        _check_dims("RCNNEncoder", vocab_size=vocab_size, input_dim=input_dim,
                    hidden_dim=hidden_dim, context_dim=context_dim)
        if cell not in self.CELLS:
            raise EncoderError(
                f"RCNNEncoder: unknown cell {cell!r}; choose one of {list(self.CELLS)}"
            )
        self.input_dim, self.hidden_dim, self.context_dim, self.cell = (
            input_dim, hidden_dim, context_dim, cell)
        fk = {"device": device, "dtype": dtype}
        self.embedding = nn.Embedding(vocab_size, input_dim, padding_idx=padding_idx, **fk)
        self.context_rnn = self.CELLS[cell](input_dim, context_dim, batch_first=True,
                                            bidirectional=True, **fk)
        self.left_init = nn.Parameter(torch.empty(context_dim, **fk))  # c_l(w_1)
        self.right_init = nn.Parameter(torch.empty(context_dim, **fk))  # c_r(w_n)
        self.projection = nn.Linear(2 * context_dim + input_dim, hidden_dim, **fk)  # W^(2), b^(2)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in (self.embedding, self.context_rnn, self.projection):
            m.reset_parameters()
        nn.init.zeros_(self.left_init)
        nn.init.zeros_(self.right_init)

    def get_input_dim(self) -> int:
        return self.input_dim

    def get_output_dim(self) -> int:
        return self.hidden_dim

    def forward(self, batch: SequenceBatch, inputs: Optional[Tensor] = None) -> EncoderOutput:
        e = embed_or_inputs(self, batch, inputs)  # (B, L, E)
        B, L, _ = e.shape
        C = self.context_dim
        h0 = torch.stack([self.left_init, self.right_init])[:, None, :].expand(2, B, C)  # (2, B, C)
        h0 = h0.contiguous()
        hx = (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0
        ctx, _ = run_fused(self.context_rnn, e, batch, hx)  # (B, L, 2C)
        fwd, bwd = ctx[..., :C], ctx[..., C:]  # (B, L, C) each
        # eq. 1: the left context of word i is the forward state after word i-1
        left = torch.cat([self.left_init.expand(B, 1, C), fwd[:, :-1]], dim=1)  # (B, L, C)
        # eq. 2: the right context of word i is the backward state after word i+1
        right = torch.cat([bwd[:, 1:], bwd.new_zeros(B, 1, C)], dim=1)  # (B, L, C)
        t = torch.arange(L, device=e.device)[None, :, None]  # (1, L, 1)
        is_last = t == (batch.lengths[:, None, None] - 1)  # (B, L, 1)
        right = torch.where(is_last, self.right_init.expand(B, L, C), right)  # (B, L, C)
        x = torch.cat([left, e, right], dim=2)  # eq. 3, (B, L, 2C+E)
        mask = batch.mask  # (B, L)
        y = torch.tanh(self.projection(x)) * mask[..., None]  # eq. 4, (B, L, H), zero at padding
        final = pool_states(y, mask, "max")  # eq. 5, (B, H)
        return EncoderOutput(states=y, final=final, mask=mask)

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, context_dim={self.context_dim}, output_dim={self.hidden_dim}"
