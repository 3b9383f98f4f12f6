"""The one place treernn imports DGL.

Call :func:`import_dgl` instead of ``import dgl``: it makes DGL 1.1.3 importable next to a
current setuptools, selects the PyTorch backend, and checks that DGL can run on the device.
Nothing else in treernn imports ``dgl``, so ``import treernn`` and the native tree backend
never load it.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any, Optional, Union

import torch

from treernn.errors import DGLUnavailableError


def _alias_setuptools_extern() -> None:
    # DGL 1.1.3 (dgl/utils/__init__.py) falls back to ``setuptools.extern.packaging`` when it
    # cannot import ``packaging``; setuptools >= 71 removed ``setuptools.extern``. Register a
    # small alias module pointing at the standalone ``packaging`` so that import cannot fail.
    # Done only when ``setuptools.extern`` is really missing.
    try:
        import setuptools.extern  # noqa: F401
        return
    except ImportError:
        pass
    import packaging
    import packaging.version  # `from setuptools.extern.packaging import version` needs it loaded

    extern = types.ModuleType("setuptools.extern")
    extern.packaging = packaging  # type: ignore[attr-defined]
    sys.modules["setuptools.extern"] = extern
    sys.modules["setuptools.extern.packaging"] = packaging
    setuptools = sys.modules.get("setuptools")
    if setuptools is not None:
        setuptools.extern = extern  # type: ignore[attr-defined]


def import_dgl(device: Optional[Union[str, torch.device]] = None) -> Any:
    """The ``dgl`` module, imported with the PyTorch backend.

    Args:
        device: where the caller will run DGL; a CUDA device is checked against the DGL build.

    Raises:
        DGLUnavailableError: DGL is not installed, or ``device`` is CUDA and this DGL build
            has no CUDA support.
    """
    os.environ.setdefault("DGLBACKEND", "pytorch")
    if "dgl" not in sys.modules:
        _alias_setuptools_extern()
    try:
        import dgl
    except ImportError as exc:  # pragma: no cover - dgl is a declared dependency
        raise DGLUnavailableError(
            f"DGL cannot be imported ({exc}); install dgl==1.1.3 or use --backend native"
        ) from exc
    if device is not None and torch.device(device).type == "cuda" and not _dgl_has_cuda(dgl):
        raise DGLUnavailableError(
            f"this DGL build is CPU-only and cannot run on {device}; "
            "use the native backend (--backend native) or install a CUDA build of DGL"
        )
    return dgl


def _dgl_has_cuda(dgl: Any) -> bool:
    try:
        return bool(dgl.ndarray.gpu(0).exist)
    except Exception:  # a CPU-only build raises instead of answering
        return False
