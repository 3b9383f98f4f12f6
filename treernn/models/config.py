"""The model's settings: what is needed to rebuild a model (``config.json["model"]``).

The dataclass is the single source of the ``[model]`` defaults; the run configuration
(:mod:`treernn.training.config`) parses TOML and ``--model.key value`` into it. Fields marked
``derived`` are filled from the data (vocabulary size, classes), not set by the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Optional

from treernn.encoders.presets import get_preset
from treernn.encoders.registry import BUILDERS, check_options
from treernn.errors import ConfigError, UnknownEncoderError

_DERIVED = {"derived": True}

#: ModelConfig fields that are builder options: every option of
#: :data:`treernn.encoders.registry.BUILDERS` but ``dropout``, which is the model's own setting
#: (passed on to the builders that take it). None means "the preset's or the builder's default".
ENCODER_OPTIONS = tuple(sorted({key for b in BUILDERS.values() for key in b.options} - {"dropout"}))

#: E when ``input_dim`` is not set and no vectors file says it.
DEFAULT_INPUT_DIM = 300


def upgrade_model_dict(data: dict) -> dict:
    """A ``[model]`` dict as saved by an earlier treernn, in today's terms: directories
    written before the encoder options existed stored ``backend: "native"`` for every encoder,
    which for a sequence encoder means "not set"."""
    data = dict(data)
    try:
        if data.get("backend") == "native" and get_preset(data.get("encoder", "tree-lstm")).kind != "tree":
            data["backend"] = None
    except UnknownEncoderError:
        pass  # reported by check()
    return data


@dataclass
class ModelConfig:
    """What is needed to rebuild a model (saved as ``config.json["model"]``).

    Attributes:
        encoder: a registered name (:data:`treernn.encoders.presets.ENCODERS`).
        input_dim, hidden_dim: E and H. ``input_dim`` None: the size of the training run's
            vectors file, else :data:`DEFAULT_INPUT_DIM`.
        dropout: before the softmax; sequence encoders that take it also between layers.
        loss_on, loss_reduction: see :class:`~treernn.models.classifier.TreeClassifier`.
        backend: tree encoders: ``native`` (default) or ``dgl``.
        layers, bidirectional, pooling: sequence encoders (defaults from the preset).
        context_dim: the RCNN's context size (default H).
        input_dropout: tree and chain encoders: dropout on each token's word vector while
            training (default 0).
        similarity_dim: pair models: the size of the similarity layer (Tai et al. 2015: 50).
        vocab_size, num_classes, label_names, sentence_classes, task: derived from the data
            (``task``: None for one sentence, ``relatedness`` or ``classes`` for sentence pairs).
    """

    encoder: str = "tree-lstm"
    vocab_size: int = field(default=2, metadata=_DERIVED)
    input_dim: Optional[int] = None  # None: the vectors file's size, else DEFAULT_INPUT_DIM
    hidden_dim: int = 150
    num_classes: int = field(default=5, metadata=_DERIVED)
    dropout: float = 0.5
    loss_on: str = "all"
    loss_reduction: str = "tree"
    backend: Optional[str] = None
    layers: Optional[int] = None
    bidirectional: Optional[bool] = None
    pooling: Optional[str] = None
    context_dim: Optional[int] = None
    input_dropout: Optional[float] = None
    similarity_dim: int = 50  # pair models: H_s of Tai et al.'s similarity layer
    label_names: Optional[list] = field(default=None, metadata=_DERIVED)
    task: Optional[str] = field(default=None, metadata=_DERIVED)  # pair models: "relatedness" or "classes"
    sentence_classes: Optional[int] = field(default=None, metadata=_DERIVED)  # only the first k classes label sentences

    @classmethod
    def settings(cls) -> list[str]:
        """The names a user sets (``[model]`` keys): every field but the derived ones."""
        return [f.name for f in fields(cls) if not f.metadata.get("derived")]

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> "ModelConfig":
        """A config from ``config.json["model"]`` (:func:`upgrade_model_dict` applied);
        unknown keys are an error that lists the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown model settings, got {unknown}; known: {sorted(known)}")
        return cls(**upgrade_model_dict(data))

    @property
    def embedding_dim(self) -> int:
        """E: ``input_dim``, or :data:`DEFAULT_INPUT_DIM` when it is not set."""
        return self.input_dim if self.input_dim is not None else DEFAULT_INPUT_DIM

    def encoder_options(self) -> dict[str, Any]:
        """The builder options this config sets (None: not set), ``dropout`` included where the
        encoder's builder takes it."""
        options = {k: getattr(self, k) for k in ENCODER_OPTIONS}
        if "dropout" in BUILDERS[get_preset(self.encoder).builder].options:
            options["dropout"] = self.dropout
        return options

    def check(self) -> None:
        """Raise :class:`~treernn.errors.ConfigError` (``<what>, got <value>; <how to fix>``)
        on the first bad setting."""
        try:
            get_preset(self.encoder)
        except UnknownEncoderError as exc:
            raise ConfigError(f"model.encoder: {exc}") from None
        for name in ("input_dim", "hidden_dim"):
            value = getattr(self, name)
            if value is None and name == "input_dim":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"model.{name} must be a positive integer, got {value!r}; "
                                  f"set --model.{name} to 1 or more")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be a probability in [0, 1), got {self.dropout!r}; "
                              f"e.g. --model.dropout 0.5")
        if self.loss_on not in ("all", "root"):
            raise ConfigError(f"model.loss_on must be all or root, got {self.loss_on!r}; all trains on every "
                              f"labeled node, root on the sentence label")
        if self.loss_reduction not in ("tree", "node"):
            raise ConfigError(f"model.loss_reduction must be tree or node, got {self.loss_reduction!r}; "
                              f"tree sums node losses per tree, node averages over nodes")
        if not isinstance(self.similarity_dim, int) or isinstance(self.similarity_dim, bool) or self.similarity_dim < 1:
            raise ConfigError(f"model.similarity_dim must be a positive integer, got {self.similarity_dim!r}; "
                              f"Tai et al. use 50")
        if self.task not in (None, "relatedness", "classes"):
            raise ConfigError(f"model.task must be relatedness, classes or none, got {self.task!r}")
        check_options(self.encoder, {k: getattr(self, k) for k in ENCODER_OPTIONS}, where="model")
