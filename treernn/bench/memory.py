"""Peak memory of a measurement's slice (see ``MEMORY_NOTE_CPU`` / ``MEMORY_NOTE_CUDA`` in
:mod:`treernn.bench.config`)."""

from __future__ import annotations

import ctypes
import gc
from typing import Any, Optional

import torch


def _libc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _proc_status_kb(key: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class _PeakMemory:
    """Peak memory of one phase (see ``MEMORY_NOTE_CPU`` / ``MEMORY_NOTE_CUDA``)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def __enter__(self) -> "_PeakMemory":
        gc.collect()
        self.mb: Optional[float] = None
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
            return self
        _libc_trim()
        self.start = _proc_status_kb("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM (peak RSS) to the current RSS
        except OSError:
            self.start = None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.mb = (torch.cuda.max_memory_allocated(self.device) - self.start) / 2**20
        elif self.start is not None:
            peak = _proc_status_kb("VmHWM")
            if peak is not None:
                self.mb = max(0, peak - self.start) / 1024
