"""Training on several processes (PyTorch DistributedDataParallel).

Launch with ``torchrun --nproc_per_node N -m treernn train ...`` (one machine) or with
``--nnodes``/``--rdzv-endpoint`` (several). Each process takes every N-th tree of each global
batch (the batch size stays the global one), the gradients are averaged by DDP, and only rank
0 writes the model directory and the log. CPU runs use the gloo backend, GPUs nccl with one
GPU per process (``LOCAL_RANK``).

The loss of each process is weighted so that the averaged gradient equals the gradient of
the single-process loss over the whole global batch (see :func:`scale_loss`), so a run on N
processes matches a single-process run with the same seed and batch size, up to float
rounding, when dropout is off (each process draws its own dropout masks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import torch

from treernn.errors import DistributedError


@dataclass(frozen=True)
class Context:
    """Where this process stands: ``rank`` of ``world`` processes, ``local_rank`` on its node."""

    rank: int
    world: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched() -> bool:
    """True when a launcher (torchrun) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device_name: str, required: bool = False) -> Optional[Context]:
    """Join the process group when launched by torchrun; None for a single process.

    Args:
        device_name: the run's device (``cuda`` picks nccl and this process's GPU).
        required: ``--distributed`` was given: fail when there is no launcher environment.

    Raises:
        DistributedError: ``required`` without torchrun's environment, or no backend.
    """
    if not launched():
        if required:
            raise DistributedError("--distributed needs several processes: launch with "
                                   "torchrun --nproc_per_node N -m treernn train ...")
        return None
    import torch.distributed as dist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    backend = "nccl" if cuda else "gloo"
    if not dist.is_available() or not getattr(dist, f"is_{backend}_available")():
        raise DistributedError(f"torch.distributed has no {backend} backend here")
    if cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Context(rank, world, local_rank)


def device_for(context: Optional[Context], device: torch.device) -> torch.device:
    """This process's device: its own GPU (``cuda:LOCAL_RANK``) in a distributed GPU run."""
    if context is not None and device.type == "cuda":
        return torch.device("cuda", context.local_rank)
    return device


def shard(items: list, context: Optional[Context]) -> list:
    """This process's share of a global batch: every ``world``-th item from ``rank``."""
    if context is None:
        return items
    return items[context.rank::context.world]


def scale_loss(loss: torch.Tensor, weight: torch.Tensor, context: Optional[Context]) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss to backpropagate, the global loss for the log) of one process.

    ``loss`` is this process's mean over ``weight`` units (trees or labeled nodes). DDP
    averages gradients over the processes, so backpropagating ``loss * weight * world / total``
    (``total`` the units of all processes) gives the gradient of ``sum(loss_r * weight_r) /
    total``: the single-process loss of the global batch.
    """
    if context is None:
        return loss, loss.detach()
    import torch.distributed as dist

    weight = weight.to(loss.dtype).detach()
    parts = torch.stack([weight, loss.detach() * weight])
    dist.all_reduce(parts)  # (total units, summed loss)
    total = parts[0].clamp(min=1e-12)
    return loss * (weight * context.world / total), parts[1] / total


def all_sum(t: torch.Tensor, context: Optional[Context]) -> torch.Tensor:
    """``t`` summed over the processes (itself for a single process)."""
    if context is None:
        return t
    import torch.distributed as dist

    t = t.clone()
    dist.all_reduce(t)
    return t


def barrier(context: Optional[Context]) -> None:
    if context is not None:
        import torch.distributed as dist

        dist.barrier()


def cleanup(context: Optional[Context]) -> None:
    if context is not None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
