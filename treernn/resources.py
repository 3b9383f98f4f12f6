"""Data that ships inside the package, found with :mod:`importlib.resources`.

``treernn/data`` holds the bundled sentiment model (``models/sst-fine``) and the JSON Schemas of
the classify output; see ``treernn/data/README.md``. The structural-ambiguity corpora and the CFG
grammars live in the checkout's top-level ``corpora/`` and are installed as
``treernn.data.ambiguity`` and ``treernn.data.grammars`` (pyproject.toml's ``package-dir``). A
wheel install carries all of them, so every command that uses them works outside the checkout.

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


def ambiguity_dir() -> Path:
    """The structural-ambiguity corpora (``arith``, ``attach``, ``zh``): the checkout's top-level
    ``corpora/ambiguity``, installed as the package data ``treernn.data.ambiguity``."""
    return Path(str(files("treernn.data.ambiguity")))


def grammars_dir() -> Path:
    """The bundled grammars: the checkout's ``corpora/grammars``, installed as
    ``treernn.data.grammars``."""
    return Path(str(files("treernn.data.grammars")))


def grammar_names() -> list[str]:
    """Names of the bundled grammars (``telescope``, ``arith``, ``attach``, ``zh``)."""
    return sorted(p.stem for p in grammars_dir().glob("*.cfg"))


def bundled_grammar(name: str) -> Optional[Path]:
    """The bundled grammar called ``name`` (with or without ``.cfg``), or None."""
    stem = name[:-4] if name.endswith(".cfg") else name
    if "/" in stem or "\\" in stem or stem not in grammar_names():
        return None
    return grammars_dir() / f"{stem}.cfg"


#: The model :func:`treernn.load`, ``treernn classify`` and the spaCy component use when none is
#: named: a fine-grained SST Tree-LSTM (``scripts/build-bundled-model`` rebuilds it).
BUNDLED_MODEL = "sst-fine"


def bundled_model_dir(name: str = BUNDLED_MODEL) -> Path:
    """The directory of a model shipped inside the package (``config.json``,
    ``model.safetensors``, ``vocab.json``)."""
    return data_dir("models", name)
