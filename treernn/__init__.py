"""treernn: tree-structured (recursive) and chain (recurrent) neural networks for NLP.

``import treernn`` is cheap: torch, DGL and spaCy are imported only by the parts that need
them (reading a treebank file needs none of them). Public names are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

# public name -> module that defines it (loaded lazily on first attribute access)
_LAZY = {
    "Tree": "treernn.trees",
    "from_ptb": "treernn.trees",
    "to_ptb": "treernn.trees",
    "TreernnError": "treernn.errors",
    "load": "treernn.pipeline",
    "Predictor": "treernn.pipeline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'treernn' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
