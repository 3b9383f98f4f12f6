"""Device selection, shared by training, evaluation, the pipeline and the benchmark.

Plumbing: imports only torch and :mod:`treernn.errors`.
"""

from __future__ import annotations

import torch

from treernn.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def pick_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is an error.

    Raises:
        ConfigError: an unknown device name, or ``cuda`` on a machine without CUDA.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(name, str) or not (name == "cpu" or name == "cuda" or name.startswith("cuda:")):
        raise ConfigError(f"unknown device, got {name!r}; use auto, cpu or cuda (or cuda:N)")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"no CUDA device is available here, got device {name!r}; use --device cpu (or auto)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device, got {name!r}; use auto, cpu or cuda (or cuda:N)") from None


def to_device(tensor: torch.Tensor, device) -> torch.Tensor:
    """``tensor`` (built on the CPU) moved to ``device``: to a GPU in one non-blocking copy from
    pinned memory, queued behind the device's work instead of waiting for it (a plain copy from
    pageable memory synchronises); elsewhere a plain ``.to``. None: the tensor as it is."""
    if device is None:
        return tensor
    device = torch.device(device)
    if device.type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)
