"""One explicit registry: encoder name -> how to build it.

No registration by import side effects: every name is in :data:`ENCODERS` below. An unknown
name is an error that lists the known ones.

Each entry says whether the encoder reads trees or sequences, and whether its trees must be
binary (then training and prediction binarize phrase-structure trees and turn dependency
trees into binarized phrase structures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from treernn.encoders.base import Encoder
from treernn.errors import TreernnError


class UnknownEncoderError(TreernnError, KeyError):
    """An encoder name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class EncoderSpec:
    """How to build one registered encoder.

    Attributes:
        kind: ``"tree"`` or ``"sequence"``.
        binary: the encoder needs binary trees.
        build: ``(vocab_size, input_dim, hidden_dim, **options) -> Encoder``.
        description: one line for ``--help`` and error messages.
    """

    kind: str
    binary: bool
    build: Callable[..., Encoder]
    description: str


def _tree(cell: str) -> Callable[..., Encoder]:
    def build(vocab_size: int, input_dim: int, hidden_dim: int, backend: str = "native", **_: Any) -> Encoder:
        from treernn.encoders.tree import TreeEncoder

        return TreeEncoder(vocab_size, input_dim, hidden_dim, cell=cell, backend=backend)

    return build


def _seq(cell: str, bidirectional: bool = False, num_layers: int = 1, pooling: str = "last") -> Callable[..., Encoder]:
    def build(vocab_size: int, input_dim: int, hidden_dim: int, dropout: float = 0.0, **_: Any) -> Encoder:
        from treernn.encoders.sequence import SequenceEncoder

        return SequenceEncoder(vocab_size, input_dim, hidden_dim, cell=cell, num_layers=num_layers,
                               bidirectional=bidirectional, pooling=pooling,
                               dropout=dropout if num_layers > 1 else 0.0)

    return build


def _bilstm_lstm(vocab_size: int, input_dim: int, hidden_dim: int, **_: Any) -> Encoder:
    from treernn.encoders.classic import BiLSTMLSTMEncoder

    return BiLSTMLSTMEncoder(vocab_size, input_dim, hidden_dim)


def _rcnn(vocab_size: int, input_dim: int, hidden_dim: int, **_: Any) -> Encoder:
    from treernn.encoders.classic import RCNNEncoder

    return RCNNEncoder(vocab_size, input_dim, hidden_dim)


ENCODERS: dict[str, EncoderSpec] = {
    # tree encoders
    "tree-lstm": EncoderSpec("tree", True, _tree("nary-tree-lstm"), "N-ary (binary) Tree-LSTM, Tai et al. 2015"),
    "nary-tree-lstm": EncoderSpec("tree", True, _tree("nary-tree-lstm"), "same as tree-lstm"),
    "child-sum-tree-lstm": EncoderSpec("tree", False, _tree("child-sum-tree-lstm"),
                                       "Child-Sum Tree-LSTM, Tai et al. 2015 (any arity)"),
    "rnn": EncoderSpec("tree", True, _tree("rnn"), "recursive neural network, Socher et al. 2011"),
    "rntn": EncoderSpec("tree", True, _tree("rntn"), "recursive neural tensor network, Socher et al. 2013"),
    # chain encoders
    "lstm": EncoderSpec("sequence", False, _seq("lstm"), "LSTM, last state"),
    "bilstm": EncoderSpec("sequence", False, _seq("lstm", True), "bidirectional LSTM, final states"),
    "lstm-2layer": EncoderSpec("sequence", False, _seq("lstm", num_layers=2), "2-layer LSTM"),
    "bilstm-2layer": EncoderSpec("sequence", False, _seq("lstm", True, 2), "2-layer bidirectional LSTM"),
    "bilstm-mean": EncoderSpec("sequence", False, _seq("lstm", True, pooling="mean"), "BiLSTM, mean over time"),
    "bilstm-lstm": EncoderSpec("sequence", False, _bilstm_lstm, "BiLSTM then LSTM, final state"),
    "gru": EncoderSpec("sequence", False, _seq("gru"), "GRU"),
    "bigru": EncoderSpec("sequence", False, _seq("gru", True), "bidirectional GRU"),
    "elman": EncoderSpec("sequence", False, _seq("rnn_tanh"), "Elman RNN (tanh)"),
    "elman-relu": EncoderSpec("sequence", False, _seq("rnn_relu"), "Elman RNN (relu)"),
    "jordan": EncoderSpec("sequence", False, _seq("jordan"), "Jordan RNN (previous output fed back)"),
    "peephole-lstm": EncoderSpec("sequence", False, _seq("peephole_lstm"), "LSTM with peepholes"),
    "leaky-rnn": EncoderSpec("sequence", False, _seq("leaky"), "leaky-integrator RNN"),
    "esn": EncoderSpec("sequence", False, _seq("esn"), "echo-state network (fixed reservoir)"),
    "rcnn": EncoderSpec("sequence", False, _rcnn, "RCNN, Lai et al. 2015"),
}


def get_spec(name: str) -> EncoderSpec:
    """The registry entry of ``name``; an unknown name lists the known ones."""
    try:
        return ENCODERS[name]
    except KeyError:
        raise UnknownEncoderError(f"unknown encoder {name!r}; known: {', '.join(ENCODERS)}") from None


def build_encoder(name: str, vocab_size: int, input_dim: int, hidden_dim: int, **options: Any) -> Encoder:
    """Build the encoder registered as ``name`` (options: ``backend``, ``dropout``)."""
    return get_spec(name).build(vocab_size, input_dim, hidden_dim, **options)
