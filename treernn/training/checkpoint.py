"""The resume state of a training run, beside its model directory: the last weights and the
optimizer state (``last-E.safetensors``, ``optimizer-E.safetensors``) and
``trainer_state.json``, written last, which says which epoch's files are current.

Tensors go to safetensors and everything else to JSON, atomically (:mod:`treernn.storage`);
the model's own files are written by :mod:`treernn.models.directory`.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

TRAINER_STATE = "trainer_state.json"
LOG = "log.jsonl"


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state as (tensors for safetensors, JSON-ready rest)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor],
                           rest: Mapping[str, Any]) -> None:
    """Load what :func:`optimizer_to_tensors` saved into ``optimizer``."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    for idx, entry in rest.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(entry)
    optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})
