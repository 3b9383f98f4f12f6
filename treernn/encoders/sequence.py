"""Chain (sequence) encoders: an embedding, a recurrent layer and a pooling.

Legend: B sentences, L sequence length, D directions (1 or 2), E input (embedding) size,
H hidden size.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from treernn.batching.sequence import SequenceBatch
from treernn.encoders.base import Encoder, EncoderOutput
from treernn.errors import EncoderError
from treernn.nn.chain import EchoStateNetwork, JordanRNN, LeakyRNN, PeepholeLSTM


# cell name -> fused PyTorch module and its keyword arguments
FUSED_CELLS: dict[str, tuple[type, dict[str, Any]]] = {
    "lstm": (nn.LSTM, {}),
    "gru": (nn.GRU, {}),
    "rnn_tanh": (nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
}
# cell name -> loop layer of treernn.nn.chain (cells PyTorch lacks)
LOOP_CELLS: dict[str, type] = {
    "jordan": JordanRNN,
    "peephole_lstm": PeepholeLSTM,
    "leaky": LeakyRNN,
    "esn": EchoStateNetwork,
}
CELLS = tuple(FUSED_CELLS) + tuple(LOOP_CELLS)
POOLINGS = ("last", "mean", "max")


def pool_states(
    states: Tensor, mask: Tensor, pooling: str, last: Optional[Tensor] = None
) -> Tensor:
    """One vector per sentence from per-token states.

    Inputs: states ``(B, L, F)`` (any values at padding), mask ``(B, L)`` bool, pooling
    ``'mean'``, ``'max'`` or ``'last'`` (then ``last`` ``(B, F)`` is returned as is).
    Outputs: ``(B, F)``.
    """
    if pooling == "last":
        if last is None:
            raise EncoderError("pool_states: pooling='last' needs last=...")
        return last
    m = mask[..., None]  # (B, L, 1)
    if pooling == "mean":
        return (states * m).sum(1) / m.sum(1).to(states.dtype)  # (B, F)
    if pooling == "max":
        return states.masked_fill(~m, float("-inf")).max(dim=1).values  # (B, F)
    raise EncoderError(f"unknown pooling {pooling!r}; choose one of {list(POOLINGS)}")


def embed_or_inputs(encoder: Encoder, batch: SequenceBatch, inputs: Optional[Tensor]) -> Tensor:
    """``inputs`` checked against the batch, or else the embedding of ``batch.token_ids``.

    Outputs: ``(B, L, E)``.
    """
    if not isinstance(batch, SequenceBatch):
        raise EncoderError(
            f"{type(encoder).__name__} reads a SequenceBatch, got {type(batch).__name__}; "
            f"build one with treernn.batching.sequence.batch_sequences(sentences, vocab)"
        )
    if inputs is None:
        return encoder.embedding(batch.token_ids)  # (B, L, E)
    expected = (len(batch), batch.max_length, encoder.get_input_dim())
    if tuple(inputs.shape) != expected:
        raise EncoderError(
            f"{type(encoder).__name__}: inputs must have shape (B, L, E) = {expected} to match "
            f"the batch, got {tuple(inputs.shape)}"
        )
    return inputs


def run_fused(rnn: nn.RNNBase, x: Tensor, batch: SequenceBatch,
              hx: Optional[Any] = None) -> tuple[Tensor, Tensor]:
    """Run a fused ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (batch first) on a packed batch.

    Inputs: x ``(B, L, E)``; hx optional initial state as for ``rnn``.
    Outputs: states ``(B, L, D*H)`` zeros at padding; h_n ``(num_layers*D, B, H)`` in the
    batch's order (for an LSTM, the hidden state, not the memory cell).

    The sentences are put in length order with the batch's own ``pack_order`` (made with the
    batch, already on the device), not by ``pack_padded_sequence(enforce_sorted=False)``, which
    copies its sort order to the GPU and the restoring order back, each a wait for the device.
    """
    if hx is not None:  # the initial state in packing order too
        hx = tuple(h.index_select(1, batch.pack_order) for h in hx) if isinstance(hx, tuple) \
            else hx.index_select(1, batch.pack_order)
    packed = pack_padded_sequence(x.index_select(0, batch.pack_order), batch.sorted_lengths_cpu,
                                  batch_first=True, enforce_sorted=True)
    out, h = rnn(packed, hx)
    states, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))  # (B, L, D*H), sorted
    h_n = h[0] if isinstance(h, tuple) else h  # (num_layers*D, B, H), sorted
    return states.index_select(0, batch.unpack_order), h_n.index_select(1, batch.unpack_order)


def last_states(h_n: Tensor, num_layers: int, num_directions: int) -> Tensor:
    """The top layer's final states, directions concatenated (forward first).

    Inputs: h_n ``(num_layers*D, B, H)``. Outputs: ``(B, D*H)``.
    """
    _, B, H = h_n.shape
    top = h_n.view(num_layers, num_directions, B, H)[-1]  # (D, B, H)
    return top.transpose(0, 1).reshape(B, num_directions * H)  # (B, D*H)


class SequenceEncoder(Encoder):
    """Embedding -> recurrent layer (fused or loop cell) -> pooling.

    ``'lstm'``, ``'gru'``, ``'rnn_tanh'`` and ``'rnn_relu'`` use the fused ``nn.LSTM``,
    ``nn.GRU`` and ``nn.RNN`` on a packed batch; ``'jordan'``, ``'peephole_lstm'``, ``'leaky'``
    and ``'esn'`` use the loop layers of :mod:`treernn.nn.chain` on the padded batch (both
    stack and run bidirectionally the same way).

    Args:
        vocab_size: rows of ``self.embedding`` (PAD is row ``padding_idx``).
        input_dim: E, the embedding size.
        hidden_dim: H per direction (for ``'jordan'``, the size of the fed-back output).
        cell: one of ``CELLS``.
        num_layers: stacked recurrent layers.
        bidirectional: add a right-to-left direction; states concatenate [forward; backward].
        dropout: dropout between stacked layers (needs ``num_layers > 1`` to do anything).
        pooling: ``final`` is ``'last'`` (the forward direction's state at the last real token
            and, if bidirectional, the backward direction's state at the first token), or the
            ``'mean'`` / ``'max'`` of the top layer's states over the real tokens.
        padding_idx: the PAD id (the vocabulary's is 0).
        input_dropout: dropout on each token's word vector while training (as
            :class:`~treernn.encoders.tree.TreeEncoder`'s; default 0); not on ``inputs``.
        cell_kwargs: extra keyword arguments of a loop layer, e.g. ``{'spectral_radius': 0.8}``
            for ``'esn'`` or ``{'tau': 4.0, 'learn_tau': True}`` for ``'leaky'``.
        device, dtype: where and in which dtype parameters are created.

    Inputs: batch, inputs
        - batch: a :class:`~treernn.batching.sequence.SequenceBatch` ``(B, L)``.
        - inputs: ``(B, L, E)`` used instead of the embedding lookup (optional).

    Outputs: :class:`~treernn.encoders.base.EncoderOutput` with
        - states ``(B, L, D*H)``, zeros at padding; final ``(B, D*H)``; mask ``(B, L)``.

    Note: for ``'esn'`` only the embedding is trainable here (the reservoir is fixed); for a
    pure echo-state network freeze it too: ``encoder.embedding.weight.requires_grad_(False)``.
    """

    def __init__(
        self,
        vocab_size: int,
        input_dim: int,
        hidden_dim: int,
        cell: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        pooling: str = "last",
        padding_idx: int = 0,
        input_dropout: float = 0.0,
        *,
        cell_kwargs: Optional[Mapping[str, Any]] = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise EncoderError(f"unknown cell {cell!r}; choose one of {list(CELLS)}")
        if pooling not in POOLINGS:
            raise EncoderError(f"unknown pooling {pooling!r}; choose one of {list(POOLINGS)}")
        for name, value in (("vocab_size", vocab_size), ("input_dim", input_dim),
                            ("hidden_dim", hidden_dim), ("num_layers", num_layers)):
            if not isinstance(value, int) or value < 1:
                raise EncoderError(f"SequenceEncoder: {name} must be a positive int, got {value!r}")
        if not 0 <= dropout < 1:
            raise EncoderError(f"SequenceEncoder: dropout must be in [0, 1), got {dropout!r}")
        if not 0 <= input_dropout < 1:
            raise EncoderError(f"SequenceEncoder: input_dropout must be in [0, 1), got {input_dropout!r}")
        if cell_kwargs and cell in FUSED_CELLS:
            raise EncoderError(
                f"cell_kwargs are for the loop cells {list(LOOP_CELLS)}; the fused {cell!r} "
                f"takes none (got {sorted(cell_kwargs)})"
            )
        self.vocab_size, self.input_dim, self.hidden_dim = vocab_size, input_dim, hidden_dim
        self.cell, self.num_layers, self.bidirectional = cell, num_layers, bidirectional
        self.dropout, self.pooling, self.padding_idx = dropout, pooling, padding_idx
        self.cell_kwargs = dict(cell_kwargs or {})
        self.num_directions = 2 if bidirectional else 1
        fk = {"device": device, "dtype": dtype}
        self.embedding = nn.Embedding(vocab_size, input_dim, padding_idx=padding_idx, **fk)
        self.input_dropout = nn.Dropout(input_dropout)  # on each token's word vector, as the tree encoders'
        self.rnn: nn.Module
        if cell in FUSED_CELLS:
            module, extra = FUSED_CELLS[cell]
            self.rnn = module(input_dim, hidden_dim, num_layers=num_layers, batch_first=True,
                              dropout=dropout, bidirectional=bidirectional, **extra, **fk)
            self._output_dim = self.num_directions * hidden_dim
        else:
            try:
                self.rnn = LOOP_CELLS[cell](input_dim, hidden_dim, num_layers, bidirectional,
                                            dropout, **self.cell_kwargs, **fk)
            except TypeError as e:  # an unknown keyword in cell_kwargs
                raise EncoderError(f"cell {cell!r} does not take cell_kwargs "
                                   f"{sorted(self.cell_kwargs)}: {e}") from None
            self._output_dim = self.num_directions * self.rnn.output_size

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        self.rnn.reset_parameters()  # type: ignore[operator]

    def get_input_dim(self) -> int:
        return self.input_dim

    def get_output_dim(self) -> int:
        return self._output_dim

    def is_bidirectional(self) -> bool:
        return self.bidirectional

    def forward(self, batch: SequenceBatch, inputs: Optional[Tensor] = None) -> EncoderOutput:
        x = embed_or_inputs(self, batch, inputs)  # (B, L, E)
        if inputs is None and self.training and self.input_dropout.p > 0:
            x = self.input_dropout(x)  # the word vectors only, as TreeEncoder's input_dropout
        if self.cell in FUSED_CELLS:
            states, h_n = run_fused(self.rnn, x, batch)  # (B, L, D*H), (layers*D, B, H)
        else:
            states, h_n = self.rnn(x, batch.lengths)  # (B, L, D*H), (layers*D, B, H)
            if isinstance(h_n, tuple):
                h_n = h_n[0]  # the hidden state, not the LSTM memory cell
        last = None
        if self.pooling == "last":
            last = last_states(h_n, self.num_layers, self.num_directions)  # (B, D*H)
        final = pool_states(states, batch.mask, self.pooling, last)  # (B, D*H)
        return EncoderOutput(states=states, final=final, mask=batch.mask)

    def extra_repr(self) -> str:
        s = f"cell={self.cell!r}, pooling={self.pooling!r}, output_dim={self._output_dim}"
        return s + (f", cell_kwargs={self.cell_kwargs}" if self.cell_kwargs else "")

