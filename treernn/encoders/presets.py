"""Registered encoder names: each is a builder of :mod:`treernn.encoders.registry` with
default options. Torch-free, so the command line can list the names without loading torch.

Hyperparameters are options, not names: ``lstm-2layer`` is the ``sequence`` builder with
``cell="lstm", layers=2``, and ``--model.encoder lstm --model.layers 2`` builds the same
encoder. The dashed names stay as presets so that every documented command keeps working.
Options set in a model configuration override a preset's defaults; ``cell`` is fixed by the
preset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from treernn.errors import UnknownEncoderError

#: Tree cells that need binary trees (the others take any arity).
BINARY_TREE_CELLS = ("nary-tree-lstm", "rnn", "rntn")


@dataclass(frozen=True)
class Preset:
    """One registered encoder name.

    Attributes:
        builder: ``"tree"``, ``"sequence"``, ``"bilstm-lstm"`` or ``"rcnn"`` (see
            :data:`treernn.encoders.registry.BUILDERS` for each one's options).
        options: the builder options this name stands for (``cell`` among them).
        description: one line for ``--help`` and error messages.
    """

    builder: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def kind(self) -> str:
        """``"tree"`` (reads trees) or ``"sequence"`` (reads token sequences)."""
        return "tree" if self.builder == "tree" else "sequence"

    @property
    def binary(self) -> bool:
        """The encoder needs binary trees (training and prediction binarize for it)."""
        return self.kind == "tree" and self.options.get("cell") in BINARY_TREE_CELLS


def _tree(cell: str, description: str) -> Preset:
    return Preset("tree", {"cell": cell}, description)


def _seq(cell: str, description: str, **options: Any) -> Preset:
    return Preset("sequence", {"cell": cell, **options}, description)


ENCODERS: dict[str, Preset] = {
    # tree encoders
    "tree-lstm": _tree("nary-tree-lstm", "N-ary (binary) Tree-LSTM, Tai et al. 2015"),
    "nary-tree-lstm": _tree("nary-tree-lstm", "same as tree-lstm"),
    "child-sum-tree-lstm": _tree("child-sum-tree-lstm", "Child-Sum Tree-LSTM, Tai et al. 2015 (any arity)"),
    "rnn": _tree("rnn", "recursive neural network, Socher et al. 2011"),
    "rntn": _tree("rntn", "recursive neural tensor network, Socher et al. 2013"),
    # chain encoders
    "lstm": _seq("lstm", "LSTM, last state"),
    "bilstm": _seq("lstm", "bidirectional LSTM, final states", bidirectional=True),
    "lstm-2layer": _seq("lstm", "2-layer LSTM (= lstm with layers 2)", layers=2),
    "bilstm-2layer": _seq("lstm", "2-layer bidirectional LSTM (= lstm with layers 2, bidirectional)",
                          bidirectional=True, layers=2),
    "bilstm-mean": _seq("lstm", "BiLSTM, mean over time (= bilstm with pooling mean)",
                        bidirectional=True, pooling="mean"),
    "bilstm-lstm": Preset("bilstm-lstm", {}, "BiLSTM then LSTM, final state"),
    "gru": _seq("gru", "GRU"),
    "bigru": _seq("gru", "bidirectional GRU", bidirectional=True),
    "elman": _seq("rnn_tanh", "Elman RNN (tanh)"),
    "elman-relu": _seq("rnn_relu", "Elman RNN (relu)"),
    "jordan": _seq("jordan", "Jordan RNN (previous output fed back)"),
    "peephole-lstm": _seq("peephole_lstm", "LSTM with peepholes"),
    "leaky-rnn": _seq("leaky", "leaky-integrator RNN"),
    "esn": _seq("esn", "echo-state network (fixed reservoir)"),
    "rcnn": Preset("rcnn", {}, "RCNN, Lai et al. 2015"),
}


def get_preset(name: str) -> Preset:
    """The registry entry of ``name``; an unknown name lists the known ones."""
    try:
        return ENCODERS[name]
    except (KeyError, TypeError):
        raise UnknownEncoderError(f"unknown encoder, got {name!r}; use one of: {', '.join(ENCODERS)}") from None
