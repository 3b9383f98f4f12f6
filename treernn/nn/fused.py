"""Fused CPU level loops: the Tree-LSTMs' tree levels in C++, compiled at first use.

The native backend's level kernels (:mod:`treernn.nn.tree_cells`) dispatch about a dozen
PyTorch operators from Python per tree level, forward and backward; at SST's batch sizes that
dispatch cost about as much as the gate arithmetic itself. ``csrc/tree_lstm_levels.cpp`` runs
every internal level of a batch in one call, for the N-ary and the Child-Sum Tree-LSTM: per level
the gather and the matrix multiply(s) through ATen, then one vectorized pass over the level's
rows (PyTorch's own ``Vectorized`` sigmoid), and the same for the hand-derived backward.

It is built with :func:`torch.utils.cpp_extension.load` the first time a CPU kernel asks for it
(about 10 s on two cores, once per source and PyTorch version: the build is kept in PyTorch's
extension cache, ``$TORCH_EXTENSIONS_DIR`` or ``~/.cache/torch_extensions``). Where it cannot be
built (no C++ compiler or ninja, a failed build) treernn says so once, in one line, and uses the
Python level loop: the same results, slower; on a CPU without AVX2 (an ARM one, say) it uses the
Python loop without a word. ``TREERNN_FUSED=0`` turns the loops off (no build attempted);
``TREERNN_FUSED=1`` makes a failed build an error instead. A build lock left by a killed build
(PyTorch's loader would wait for it forever) is removed after :data:`STALE_LOCK_S` seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Optional

import torch

from treernn.errors import CellError

#: The environment variable that turns the fused loops off (``0``) or makes them required (``1``).
ENV = "TREERNN_FUSED"

_SOURCE = Path(__file__).with_name("csrc") / "tree_lstm_levels.cpp"
# -fopenmp: at::parallel_for is header code, parallel only where _OPENMP is defined (PyTorch's CPU
# build uses OpenMP; the library loaded is the one PyTorch already loaded, libgomp.so.1)
_FLAGS = ["-O3", "-mavx2", "-mfma", "-fopenmp", "-DCPU_CAPABILITY=AVX2", "-DCPU_CAPABILITY_AVX2"]
#: A build lock older than this (seconds) was left by a killed build, and is removed.
STALE_LOCK_S = 600
_lock = threading.Lock()
_local = threading.local()  # disabled() depth, per thread
_state: dict[str, Any] = {"tried": False, "ops": None, "why": "not built yet"}


@contextlib.contextmanager
def disabled():
    """Within this block the level kernels use the Python loop (as ``TREERNN_FUSED=0``): for
    comparisons in one process, such as the benchmark's ``tree-lstm-unfused`` row."""
    _local.off = getattr(_local, "off", 0) + 1
    try:
        yield
    finally:
        _local.off -= 1


def _setting() -> str:
    if getattr(_local, "off", 0):
        return "0"
    value = os.environ.get(ENV, "auto").strip().lower()
    if value not in ("auto", "0", "1"):
        raise CellError(f"{ENV}={value!r}: use 0 (off), 1 (required) or leave it unset (auto)")
    return value


def _build() -> Any:
    """Compiles and loads the extension; returns ``torch.ops.treernn_levels``."""
    from torch.utils import cpp_extension

    source = _SOURCE.read_bytes()
    digest = hashlib.sha256(source + " ".join(_FLAGS + [torch.__version__]).encode()).hexdigest()[:12]
    name = f"treernn_levels_{digest}"
    build_dir = Path(cpp_extension._get_build_directory(name, verbose=False))
    lock = build_dir / "lock"  # PyTorch's: a process that finds it waits, with no time limit
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        age = 0.0
    if age > STALE_LOCK_S:  # left by a build that was killed (a build takes seconds, not minutes)
        print(f"treernn: removing a stale build lock ({lock}, {age / 60:.0f} minutes old)", file=sys.stderr)
        lock.unlink(missing_ok=True)
    fresh = not any(build_dir.glob(f"{name}*.so"))
    if fresh:
        print(f"treernn: building the fused level kernels (once; {build_dir})", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    path = os.environ.get("PATH", "")
    if shutil.which("ninja") is None:  # the ninja wheel's binary, when its venv is not activated
        try:
            import ninja

            os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + path
        except ImportError:
            pass  # the loader then says that ninja is missing
    try:
        cpp_extension.load(name=name, sources=[str(_SOURCE)], extra_cflags=_FLAGS, extra_ldflags=["-fopenmp"],
                           is_python_module=False, verbose=False)
    finally:
        os.environ["PATH"] = path
    if fresh:
        print(f"treernn: built in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return torch.ops.treernn_levels


def fused_ops() -> Optional[Any]:
    """``torch.ops.treernn_levels`` (``nary_forward``, ``nary_backward``), building them on the
    first call, or None where they are off or cannot be built (:func:`fused_status` says why).

    Raises:
        CellError: ``TREERNN_FUSED`` has another value than 0 or 1, or is 1 and the build failed.
    """
    setting = _setting()
    if setting == "0":
        return None
    with _lock:
        if not _state["tried"]:
            _state["tried"] = True
            capability = torch.backends.cpu.get_cpu_capability()
            quiet = False  # a CPU the loops are not written for is no fault: said by fused_status only
            if capability not in ("AVX2", "AVX512"):
                _state["why"] = f"this CPU's vector capability is {capability}, the kernels need AVX2"
                quiet = True
            elif not _SOURCE.is_file():
                _state["why"] = f"{_SOURCE} is missing"
            else:
                try:
                    _state["ops"] = _build()
                    _state["why"] = None
                except Exception as exc:  # no compiler, no ninja, a failed build: say it, go on
                    lines = str(exc).strip().splitlines() or [""]
                    first = next((line for line in lines if "error:" in line), lines[-1]).strip()
                    _state["why"] = f"the build failed ({type(exc).__name__}: {first[:200]})"
            if _state["why"] is not None and setting != "1" and not quiet:
                warnings.warn(f"treernn: fused level kernels unavailable: {_state['why']}; using the "
                              f"Python level loop (same results, slower; {ENV}=0 skips the build)",
                              RuntimeWarning, stacklevel=3)
        if _state["ops"] is None and setting == "1":
            raise CellError(f"{ENV}=1 but the fused level kernels are unavailable: {_state['why']}")
        return _state["ops"]


def fused_status() -> str:
    """``on``, or ``off: why`` (for reports; does not build)."""
    if _setting() == "0":
        return f"off: {ENV}=0 or fused.disabled()"
    if _state["ops"] is not None:
        return "on"
    return f"off: {_state['why']}"


def ops_for(like: torch.Tensor, weight: torch.Tensor) -> Optional[Any]:
    """:func:`fused_ops` for a batch whose buffers are like ``like`` and a cell whose weights are
    like ``weight``, or None where the fused loops cannot run it (not a CPU, not float32 or
    float64, mixed dtypes, or unavailable)."""
    if like.device.type != "cpu" or like.dtype not in (torch.float32, torch.float64) or weight.dtype != like.dtype:
        return None
    return fused_ops()


__all__ = ["ENV", "STALE_LOCK_S", "disabled", "fused_ops", "fused_status", "ops_for"]
