"""Model construction, tree preparation, and loading a model directory into a model.

:func:`build_model` makes a classifier from a :class:`~treernn.models.config.ModelConfig`
(encoder from the registry, softmax head); :func:`load_model` rebuilds one from a directory
written by training or by :meth:`~treernn.models.classifier.TreeClassifier.save_pretrained`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

from treernn.encoders.presets import get_preset
from treernn.encoders.registry import build_encoder
from treernn.errors import CheckpointError, ModelError
from treernn.models.classifier import SequenceClassifier, TreeClassifier
from treernn.models.config import ModelConfig
from treernn.models.directory import WEIGHTS, read_model_dir
from treernn.models.pair import PairModel
from treernn.trees import Tree, binarize, dependency_to_phrase
from treernn.vocab import Vocab

Model = Union[TreeClassifier, SequenceClassifier, PairModel]


def build_model(config: ModelConfig, vocab: Optional[Vocab] = None) -> Model:
    """A classifier for ``config`` (checked first), holding ``config`` and ``vocab``."""
    config.check()
    encoder = build_encoder(config.encoder, config.vocab_size, config.embedding_dim, config.hidden_dim,
                            **config.encoder_options())
    if config.task is not None:  # sentence pairs: Tai et al.'s similarity head over the encoder
        return PairModel(encoder, config.task, config.num_classes, tree=get_preset(config.encoder).kind == "tree",
                         similarity_dim=config.similarity_dim, dropout=config.dropout, config=config, vocab=vocab)
    if get_preset(config.encoder).kind == "tree":
        return TreeClassifier(encoder, config.num_classes, config.dropout, config.loss_on,
                              config.loss_reduction, sentence_classes=config.sentence_classes,
                              config=config, vocab=vocab)
    return SequenceClassifier(encoder, config.num_classes, config.dropout,
                              sentence_classes=config.sentence_classes, config=config, vocab=vocab)


def prepare_tree(tree: Tree, encoder: str) -> Tree:
    """``tree`` in the shape the encoder needs: binary cells get dependency trees as
    binarized phrase structures and phrase-structure trees binarized (unary chains
    collapsed, keeping the top label); other encoders get the tree as it is."""
    if not get_preset(encoder).binary or tree.is_binary():
        return tree
    if any(n.children and n.token is not None for n in tree.postorder()):
        return dependency_to_phrase(tree)
    return binarize(tree)


def load_model(directory: Union[str, Path], device: Any = "cpu", kind: Optional[str] = None) -> Model:
    """The model of a directory (training's or :meth:`save_pretrained`'s), in eval mode on
    ``device``, with ``.config`` and ``.vocab`` set. Only JSON and safetensors are read.

    Args:
        kind: ``"tree"`` or ``"sequence"`` to insist on a kind of model (None: either).

    Raises:
        CheckpointError: see :func:`treernn.models.directory.read_model_dir`; weights that do
            not fit ``config.json``.
        ModelError: the directory holds another kind of model than ``kind``.
    """
    model, _ = load_model_dir(directory, device)
    if kind is not None and model.kind != kind:
        raise ModelError(f"{directory} holds a {model.kind} model ({model.config.encoder}), not a {kind} model")
    return model


def load_model_dir(directory: Union[str, Path], device: Any = "cpu") -> tuple[Model, dict]:
    """(model in eval mode on ``device``, the whole ``config.json``) of a model directory."""
    config, vocab, weights, data = read_model_dir(directory)
    model = build_model(config, vocab)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        lines = str(exc).splitlines()
        detail = lines[1].strip() if len(lines) > 1 else str(exc)
        raise CheckpointError(f"{Path(directory) / WEIGHTS} does not fit config.json ({detail})") from None
    return model.to(device).eval(), data
