"""One explicit registry: encoder name -> builder with typed options.

No registration by import side effects: every name is in
:data:`treernn.encoders.presets.ENCODERS` (a builder and its default options), every builder
in :data:`BUILDERS` below with the options it takes. An unknown name lists the known ones; an
option the builder does not take, or a value outside its range, is a
:class:`~treernn.errors.ConfigError` (nothing is dropped silently).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from treernn.encoders.base import Encoder
from treernn.encoders.classic import BiLSTMLSTMEncoder, RCNNEncoder
from treernn.encoders.presets import ENCODERS, Preset, get_preset
from treernn.encoders.sequence import POOLINGS, SequenceEncoder
from treernn.encoders.tree import BACKENDS, TreeEncoder
from treernn.errors import ConfigError, UnknownEncoderError

__all__ = ["BUILDERS", "ENCODERS", "Option", "Preset", "UnknownEncoderError", "build_encoder",
           "check_options", "get_preset"]


@dataclass(frozen=True)
class Option:
    """One typed builder option.

    Attributes:
        type: ``int``, ``float``, ``bool`` or ``str``.
        choices: the allowed values (str options).
        minimum: the smallest allowed value (numbers); ``below`` an exclusive upper bound.
        help: what it does.
    """

    type: type
    help: str
    choices: Optional[tuple] = None
    minimum: Optional[float] = None
    below: Optional[float] = None

    def check(self, where: str, value: Any) -> None:
        bad_type = (not isinstance(value, self.type) or (self.type is not bool and isinstance(value, bool)))
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            bad_type = False
        if bad_type:
            raise ConfigError(f"{where} must be {_type_name(self.type)}, got {value!r}; {self.help}")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"{where} must be one of {', '.join(map(str, self.choices))}, got {value!r}; "
                              f"{self.help}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{where} must be >= {self.minimum}, got {value!r}; {self.help}")
        if self.below is not None and value >= self.below:
            raise ConfigError(f"{where} must be < {self.below}, got {value!r}; {self.help}")


def _type_name(t: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[t]


@dataclass(frozen=True)
class Builder:
    """A function ``(vocab_size, input_dim, hidden_dim, **options) -> Encoder`` and the
    options it takes (beyond ``cell``, which presets fix)."""

    build: Callable[..., Encoder]
    options: dict[str, Option]


def _build_tree(vocab_size: int, input_dim: int, hidden_dim: int, *, cell: str,
                backend: str = "native", input_dropout: float = 0.0) -> Encoder:
    return TreeEncoder(vocab_size, input_dim, hidden_dim, cell=cell, backend=backend,
                       input_dropout=input_dropout)


def _build_sequence(vocab_size: int, input_dim: int, hidden_dim: int, *, cell: str, layers: int = 1,
                    bidirectional: bool = False, pooling: str = "last", dropout: float = 0.0,
                    input_dropout: float = 0.0) -> Encoder:
    # dropout acts between stacked layers (PyTorch's; one layer has none)
    return SequenceEncoder(vocab_size, input_dim, hidden_dim, cell=cell, num_layers=layers,
                           bidirectional=bidirectional, pooling=pooling,
                           dropout=dropout if layers > 1 else 0.0, input_dropout=input_dropout)


def _build_bilstm_lstm(vocab_size: int, input_dim: int, hidden_dim: int, *, dropout: float = 0.0) -> Encoder:
    return BiLSTMLSTMEncoder(vocab_size, input_dim, hidden_dim, dropout=dropout)


def _build_rcnn(vocab_size: int, input_dim: int, hidden_dim: int, *,
                context_dim: Optional[int] = None) -> Encoder:
    return RCNNEncoder(vocab_size, input_dim, hidden_dim, context_dim=context_dim)


_DROPOUT = Option(float, "a probability in [0, 1), e.g. 0.5", minimum=0.0, below=1.0)

_INPUT_DROPOUT = Option(float, "dropout on each token's word vector while training, a "
                        "probability in [0, 1), e.g. 0.5", minimum=0.0, below=1.0)

BUILDERS: dict[str, Builder] = {
    "tree": Builder(_build_tree, {
        "backend": Option(str, "native (one batched step per tree level) or dgl (DGL graphs)",
                          choices=BACKENDS),
        "input_dropout": _INPUT_DROPOUT,
    }),
    "sequence": Builder(_build_sequence, {
        "input_dropout": _INPUT_DROPOUT,
        "layers": Option(int, "the number of stacked layers, 1 or more", minimum=1),
        "bidirectional": Option(bool, "true reads both directions"),
        "pooling": Option(str, "how the final vector is made from the states", choices=POOLINGS),
        "dropout": _DROPOUT,
    }),
    "bilstm-lstm": Builder(_build_bilstm_lstm, {"dropout": _DROPOUT}),
    "rcnn": Builder(_build_rcnn, {
        "context_dim": Option(int, "the size of the left/right context vectors, 1 or more", minimum=1),
    }),
}



def check_options(name: str, options: dict[str, Any], where: str = "model") -> dict[str, Any]:
    """The builder options of encoder ``name`` with ``options`` (None values: not set) over the
    preset's defaults, each checked.

    Raises:
        UnknownEncoderError: ``name`` is not registered.
        ConfigError: an option the builder does not take, or a bad value.
    """
    preset = get_preset(name)
    builder = BUILDERS[preset.builder]
    merged = dict(preset.options)
    for key, value in options.items():
        if value is None:
            continue
        label = f"{where}.{key}" if where else key
        if key not in builder.options:
            takes = ", ".join(builder.options) or "none"
            raise ConfigError(f"{label} is not an option of encoder {name!r}, got {value!r}; "
                              f"remove it (options of {name}: {takes})")
        builder.options[key].check(label, value)
        merged[key] = value
    return merged


def build_encoder(name: str, vocab_size: int, input_dim: int, hidden_dim: int, **options: Any) -> Encoder:
    """Build the encoder registered as ``name`` with builder ``options`` (see :data:`BUILDERS`:
    ``backend`` for tree encoders; ``layers``, ``bidirectional``, ``pooling``, ``dropout`` for
    sequence encoders; ...). An option the builder does not take is an error."""
    merged = check_options(name, options, where="")
    return BUILDERS[get_preset(name).builder].build(vocab_size, input_dim, hidden_dim, **merged)
