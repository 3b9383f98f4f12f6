"""Model configuration, construction, tree preparation, and model directories.

A model directory holds ``config.json`` (this :class:`ModelConfig` and the training
settings), ``model.safetensors`` (the weights) and ``vocab.json``. Loading reads JSON and
safetensors only; nothing in the directory is executed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Optional, Union

from torch import nn

from treernn.encoders.registry import get_spec
from treernn.models.classifier import ModelError, SequenceClassifier, TreeClassifier
from treernn.training import checkpoint as ckpt
from treernn.trees import Tree, binarize, dependency_to_phrase
from treernn.errors import VocabError
from treernn.vocab import Vocab

Model = Union[TreeClassifier, SequenceClassifier]


@dataclass
class ModelConfig:
    """What is needed to rebuild a model (saved as ``config.json["model"]``)."""

    encoder: str = "tree-lstm"
    vocab_size: int = 2
    input_dim: int = 300
    hidden_dim: int = 150
    num_classes: int = 5
    dropout: float = 0.5
    loss_on: str = "all"
    loss_reduction: str = "tree"
    backend: str = "native"
    label_names: Optional[list] = None
    sentence_classes: Optional[int] = None  # only the first k classes label sentences

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"{source}: unknown model settings {unknown}; known: {sorted(known)}")
        return cls(**data)


def build_model(config: ModelConfig) -> Model:
    """A classifier for ``config`` (encoder from the registry, softmax head)."""
    spec = get_spec(config.encoder)
    encoder = spec.build(config.vocab_size, config.input_dim, config.hidden_dim,
                         backend=config.backend, dropout=config.dropout)
    if spec.kind == "tree":
        model = TreeClassifier(encoder, config.num_classes, config.dropout, config.loss_on,
                               config.loss_reduction)
    else:
        model = SequenceClassifier(encoder, config.num_classes, config.dropout)
    model.sentence_classes = config.sentence_classes
    model.config = config
    return model


def prepare_tree(tree: Tree, encoder: str) -> Tree:
    """``tree`` in the shape the encoder needs: binary cells get dependency trees as
    binarized phrase structures and phrase-structure trees binarized (unary chains
    collapsed, keeping the top label); other encoders get the tree as it is."""
    if not get_spec(encoder).binary or tree.is_binary():
        return tree
    if any(n.children and n.token is not None for n in tree.postorder()):
        return dependency_to_phrase(tree)
    return binarize(tree)


def save_model_dir(directory: Path, model: nn.Module, config: ModelConfig, vocab: Vocab,
                   extra: Optional[dict] = None) -> None:
    """Write ``config.json``, ``model.safetensors`` and ``vocab.json`` (each atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ckpt.save_tensors(directory / ckpt.WEIGHTS, model.state_dict())
    write_model_files(directory, config, vocab, extra)


def write_model_files(directory: Path, config: ModelConfig, vocab: Vocab, extra: Optional[dict] = None) -> None:
    """``config.json`` and ``vocab.json`` of a model directory."""
    data: dict[str, Any] = {"format_version": ckpt.FORMAT_VERSION, "model": asdict(config)}
    data.update(extra or {})
    ckpt.atomic_write_json(Path(directory) / ckpt.CONFIG, data)
    ckpt.atomic_write_bytes(Path(directory) / ckpt.VOCAB, vocab.to_json().encode("utf-8"))


def load_model_dir(directory: Union[str, Path], device: Any = "cpu") -> tuple[Model, ModelConfig, Vocab, dict]:
    """(model in eval mode, its config, its vocabulary, the whole config.json) from a directory.

    Raises:
        CheckpointError: missing directory or file, a pickle in the directory, corrupt JSON or
            safetensors, weights that do not fit the config, another format version.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ckpt.CheckpointError(f"model directory not found: {directory}")
    ckpt.refuse_pickles(directory)
    data = ckpt.read_json(directory / ckpt.CONFIG)
    if not isinstance(data, dict) or "model" not in data:
        raise ckpt.CheckpointError(f"{directory / ckpt.CONFIG} has no 'model' section")
    if data.get("format_version") != ckpt.FORMAT_VERSION:
        raise ckpt.CheckpointError(
            f"{directory} was written by format version {data.get('format_version')!r}; this treernn "
            f"reads version {ckpt.FORMAT_VERSION}")
    try:
        config = ModelConfig.from_dict(data["model"], str(directory / ckpt.CONFIG))
        vocab = Vocab.load(directory / ckpt.VOCAB)
    except (ModelError, VocabError) as exc:
        raise ckpt.CheckpointError(str(exc)) from None
    model = build_model(config)
    weights = ckpt.load_tensors(directory / ckpt.WEIGHTS)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise ckpt.CheckpointError(
            f"{directory / ckpt.WEIGHTS} does not fit config.json ({str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else exc})"
        ) from None
    model.vocab = vocab
    return model.to(device).eval(), config, vocab, data
