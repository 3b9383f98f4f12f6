"""Data that ships inside the package, found with :mod:`importlib.resources`.

``treernn/data`` holds the structural-ambiguity corpus (``ambiguity/arith``,
``ambiguity/attach``), the CFG grammars (``grammars/*.cfg``), the bundled sentiment model
(``models/sst-fine``) and the JSON Schema of the classify output; see ``treernn/data/README.md``.
A wheel install carries them, so every command that uses them works outside the checkout.

Plumbing: imports nothing from treernn.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Optional


def data_dir(*parts: str) -> Path:
    """The path of ``treernn/data/<parts...>`` in this installation (a real directory: treernn
    is installed as files, never run from a zip)."""
    return Path(str(files("treernn").joinpath("data", *parts)))


def grammar_names() -> list[str]:
    """Names of the bundled grammars (``telescope``, ``arith``, ``attach``)."""
    return sorted(p.stem for p in data_dir("grammars").glob("*.cfg"))


def bundled_grammar(name: str) -> Optional[Path]:
    """The bundled grammar called ``name`` (with or without ``.cfg``), or None."""
    stem = name[:-4] if name.endswith(".cfg") else name
    if "/" in stem or "\\" in stem or stem not in grammar_names():
        return None
    return data_dir("grammars", f"{stem}.cfg")


#: The model :func:`treernn.load`, ``treernn classify`` and the spaCy component use when none is
#: named: a fine-grained SST Tree-LSTM (``scripts/build-bundled-model`` rebuilds it).
BUNDLED_MODEL = "sst-fine"


def bundled_model_dir(name: str = BUNDLED_MODEL) -> Path:
    """The directory of a model shipped inside the package (``config.json``,
    ``model.safetensors``, ``vocab.json``)."""
    return data_dir("models", name)
