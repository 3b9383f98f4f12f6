"""Timing of the benchmark: slices, the calm-probe, the matmul peak, the machine.

Noise (a shared machine): the measurements are interleaved. Each round measures every
configuration, batch size and phase for a short slice of time (and the matmul peak). Around
every slice a probe times a fixed burst of small multi-threaded operations; on a machine
whose cores are shared, PyTorch's threads then wait for each other at every operation and
the probe is many times slower than its best. A slice is *calm* when the probes before and
after it are within ``calm_factor`` of the best probe of the run; rounds go on (within the
time budget) until every measurement has ``rounds`` calm slices, and each result is the
median over its calm slices (over all its slices, flagged, when it has none).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from typing import Callable, Sequence

import torch

from treernn._dgl import import_dgl
from treernn.errors import TreernnError
from treernn.nn.fused import fused_ops, fused_status


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_slice(step: Callable[[list], None], batches, device: torch.device,
                seconds: float) -> tuple[float, list]:
    """Runs ``step`` on batches until ``seconds`` have passed (at least one batch). Returns
    the time spent in the steps (device synchronised after each) and the batches done."""
    spent, done = 0.0, []
    _sync(device)
    while True:
        items = next(batches)
        t0 = time.perf_counter()
        step(items)
        _sync(device)
        spent += time.perf_counter() - t0
        done.append(items)
        if spent >= seconds:
            return spent, done


def matmul_peak(device: torch.device, shapes: Sequence[tuple[int, int, int]],
                seconds: float = 0.3, repeats: int = 5) -> dict:
    """float32 ``torch.mm`` GFLOP/s of ``(m, k) @ (k, n)`` for each shape (median of
    ``repeats`` timings of ~``seconds / repeats`` each), and the largest as ``peak_gflops``."""
    rows = []
    for m, k, n in shapes:
        a = torch.randn(m, k, device=device)
        b = torch.randn(k, n, device=device)
        out = torch.empty(m, n, device=device)
        for _ in range(3):
            torch.mm(a, b, out=out)
        _sync(device)
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        _sync(device)
        one = max(time.perf_counter() - t0, 1e-7)
        iters = max(1, int(seconds / repeats / one))
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(iters):
                torch.mm(a, b, out=out)
            _sync(device)
            rates.append(2 * m * k * n * iters / (time.perf_counter() - t0) / 1e9)
        rows.append({"m": m, "k": k, "n": n, "gflops": round(statistics.median(rates), 1)})
    return {"shapes": rows, "peak_gflops": max(r["gflops"] for r in rows)}


class _Probe:
    """Milliseconds of a fixed burst of small multi-threaded operations (see the module
    docstring): a few milliseconds on an idle machine, seconds when its cores are shared."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.x = torch.randn(400, 150, device=device)  # above PyTorch's parallel grain size
        self.y = torch.empty_like(self.x)
        self.best = math.inf

    def __call__(self) -> float:
        _sync(self.device)
        t0 = time.perf_counter()
        for _ in range(100):
            torch.sigmoid(self.x, out=self.y).mul_(self.x)
        _sync(self.device)
        ms = (time.perf_counter() - t0) * 1000
        self.best = min(self.best, ms)
        return ms


def _machine_info(device: torch.device) -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": (len(os.sched_getaffinity(0))
                             if hasattr(os, "sched_getaffinity") else None),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
    }
    try:
        info["dgl"] = import_dgl().__version__
    except TreernnError as exc:
        info["dgl"] = f"unavailable ({exc})"
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    if device.type == "cpu":  # the native Tree-LSTM rows run the compiled level loop, or not
        fused_ops()  # builds it now, not inside a timed slice
        info["fused_levels"] = fused_status()
    return info
