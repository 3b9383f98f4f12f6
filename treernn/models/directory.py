"""Model directories, read and written in this one place.

A model directory holds ``config.json`` (the :class:`~treernn.models.config.ModelConfig` and
whatever the writer adds, e.g. the resolved run configuration), ``model.safetensors`` (the
weights, with a checksum) and ``vocab.json``; training adds ``metrics.json``, ``log.jsonl`` and
its resume state (:mod:`treernn.training.checkpoint`). Loading reads JSON and safetensors
only; a directory holding a pickle is refused, and nothing in it is executed.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from treernn import storage
from treernn.errors import CheckpointError, ConfigError, VocabError
from treernn.models.config import ModelConfig
from treernn.vocab import Vocab

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
VOCAB = "vocab.json"
METRICS = "metrics.json"
FORMAT_VERSION = 1


def write_model_files(directory: Path, config: ModelConfig, vocab: Vocab, extra: Optional[dict] = None) -> None:
    """``config.json`` and ``vocab.json`` of a model directory (each atomically)."""
    data: dict[str, Any] = {"format_version": FORMAT_VERSION, "model": asdict(config)}
    data.update(extra or {})
    storage.atomic_write_json(Path(directory) / CONFIG, data)
    storage.atomic_write_bytes(Path(directory) / VOCAB, vocab.to_json().encode("utf-8"))


def write_weights(directory: Path, state_dict: Mapping[str, Any], metadata: Optional[Mapping[str, str]] = None) -> None:
    """``model.safetensors`` of a model directory (atomically, with its checksum)."""
    storage.save_tensors(Path(directory) / WEIGHTS, state_dict, metadata)


def save_model_dir(directory: Path, state_dict: Mapping[str, Any], config: ModelConfig, vocab: Vocab,
                   extra: Optional[dict] = None) -> None:
    """Write ``config.json``, ``model.safetensors`` and ``vocab.json`` (each atomically)."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"cannot create {directory}: {exc.strerror or exc}") from None
    write_weights(directory, state_dict)
    write_model_files(directory, config, vocab, extra)


def read_weights(directory: Path, device: Any = "cpu") -> dict:
    """The tensors of ``model.safetensors`` (checksum checked)."""
    return storage.load_tensors(Path(directory) / WEIGHTS, device=device)


def read_model_dir(directory: Union[str, Path]) -> tuple[ModelConfig, Vocab, dict, dict]:
    """(model config, vocabulary, weights on the CPU, the whole ``config.json``) of a directory.

    Raises:
        CheckpointError: missing directory or file, a pickle in the directory, corrupt JSON or
            safetensors, another format version, a config or vocabulary that does not read.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"model directory not found: {directory}")
    storage.refuse_pickles(directory)
    data = storage.read_json(directory / CONFIG)
    if not isinstance(data, dict) or "model" not in data:
        raise CheckpointError(f"{directory / CONFIG} has no 'model' section")
    if data.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{directory} was written by format version {data.get('format_version')!r}; this treernn "
            f"reads version {FORMAT_VERSION}")
    try:
        config = ModelConfig.from_dict(data["model"], str(directory / CONFIG))
        config.check()
        vocab = Vocab.load(directory / VOCAB)
    except (ConfigError, VocabError, TypeError) as exc:
        raise CheckpointError(f"{directory / CONFIG}: {exc}") from None
    return config, vocab, read_weights(directory), data
