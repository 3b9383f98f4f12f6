"""What a step dispatches: operators counted (every backend), and on a GPU its kernels and the
time the GPU is busy running them (torch.profiler). A step the GPU is busy for less than half
of is bound by launching kernels from the host, not by running them: the case for fusing a
tree level's arithmetic, for CUDA graphs and for a persistent kernel.
"""

from __future__ import annotations

from typing import Callable

import torch

#: Operators that only make views or read metadata: no kernel, no work.
VIEW_OPERATORS = frozenset({
    "view", "_unsafe_view", "reshape", "slice", "select", "t", "transpose", "expand", "unsqueeze",
    "squeeze", "detach", "alias", "as_strided", "permute", "split", "unbind", "narrow", "_reshape_alias",
    "lift_fresh", "split_with_sizes", "chunk"})


def count_operators(step: Callable[[list], None], items: list) -> int:
    """The PyTorch operators one ``step(items)`` dispatches, views and metadata apart: on a GPU
    about the kernels it launches (each costs the host some microseconds however small its work).
    Kernels of other libraries (DGL's own) are not PyTorch operators and are not counted."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        ops = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket.__name__ not in VIEW_OPERATORS:
                Count.ops += 1
            return func(*args, **(kwargs or {}))

    with Count():
        step(items)
    return Count.ops


def gpu_busy(step: Callable[[list], None], items: list, device: torch.device, steps: int = 3) -> tuple[float, float]:
    """(milliseconds the GPU spends in kernels per step, kernels per step), from torch.profiler
    over ``steps`` steps (kernels, copies and fills: one stream, so their times add up).

    Raises:
        RuntimeError: the profiler recorded no GPU kernel (no CUPTI, or the step ran on the CPU).
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step(items)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    kernels = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
    if not kernels:
        raise RuntimeError("the profiler recorded no GPU kernel")
    busy_us = sum(e.time_range.elapsed_us() for e in kernels)
    return busy_us / 1000 / steps, len(kernels) / steps


def step_profile(step: Callable[[list], None], items: list, device: torch.device, wall_ms: float) -> dict:
    """Operators per step, and on a GPU kernels per step, busy milliseconds per step and the busy
    fraction of ``wall_ms`` (the step's measured wall time); a GPU measurement that fails is said
    in the field instead of failing the benchmark."""
    out: dict = {"operators_per_step": count_operators(step, items)}
    if device.type == "cuda":
        try:
            busy_ms, kernels = gpu_busy(step, items, device)
            out.update(kernels_per_step=round(kernels, 1), gpu_busy_ms_per_step=round(busy_ms, 3),
                       gpu_busy_fraction=round(busy_ms / wall_ms, 3) if wall_ms > 0 else None)
        except Exception as exc:  # CUPTI missing, an API change: the other figures stand
            out["gpu_busy_ms_per_step"] = f"not measured: {type(exc).__name__}: {str(exc)[:200]}"
    return out
