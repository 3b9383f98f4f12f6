"""Data that ships inside the package, found with :mod:`importlib.resources`.

``treernn/data`` holds the structural-ambiguity corpus (``ambiguity/arith``,
``ambiguity/attach``) and the CFG grammars (``grammars/*.cfg``); see ``treernn/data/README.md``.
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
