"""The native tree backend reads nothing back from the device inside its level loop, tested
without a GPU: every way a tensor's value reaches Python (``item``, ``tolist``, ``bool``,
``int``, ``float``, ``numpy``, ``cpu``) and the ops whose output size depends on the data
(``nonzero``, ``unique``, ``masked_select``: on CUDA each waits for the device) and the
ways a tensor is made from host data (``tensor``, ``as_tensor``, ``from_numpy``: on CUDA a
copy from pageable memory that waits for the device) raise while
a model runs a batch forward and backward. On a CUDA machine ``scripts/gpu-check`` runs the
same under ``torch.cuda.set_sync_debug_mode("error")``. The batch (index tensors built on the
CPU with numpy) is made before, as the trainer makes it before the step."""

from __future__ import annotations

import contextlib
import os
import sys

import pytest
import torch

from cases import CASES, VOCAB, cases_for
from treernn.encoders.presets import ENCODERS
from treernn.models import ModelConfig, build_model
from treernn.models.build import prepare_tree

READS = ["item", "tolist", "numpy", "cpu", "__bool__", "__int__", "__float__", "nonzero", "unique", "masked_select"]
FUNCTIONS = ["nonzero", "unique", "masked_select", "argwhere",
             # a tensor made from host data inside the step is a copy to the GPU that waits for it
             "tensor", "as_tensor", "from_numpy"]
RNN_MODULE = os.path.join("torch", "nn", "modules", "rnn.py")


@contextlib.contextmanager
def no_host_reads():
    saved = {}

    def refuse(name, original):
        def raiser(*args, **kwargs):
            # PyTorch's fused RNN modules read a PackedSequence's batch_sizes, a CPU tensor by
            # design (made from the batch's CPU lengths): not a read from the device
            if sys._getframe(1).f_code.co_filename.endswith(RNN_MODULE):
                return original(*args, **kwargs)
            raise AssertionError(f"{name} synchronises with the device inside the step")
        return raiser

    for name in READS:
        saved[("t", name)] = getattr(torch.Tensor, name)
        setattr(torch.Tensor, name, refuse(f"Tensor.{name}", saved[("t", name)]))
    for name in FUNCTIONS:
        saved[("f", name)] = getattr(torch, name)
        setattr(torch, name, refuse(f"torch.{name}", saved[("f", name)]))
    try:
        yield
    finally:
        for (kind, name), value in saved.items():
            setattr(torch.Tensor if kind == "t" else torch, name, value)


def test_the_guard_catches_a_read():
    with pytest.raises(AssertionError, match="Tensor.item"):
        with no_host_reads():
            torch.ones(2).sum().item()
    assert torch.ones(2).sum().item() == 2.0  # restored


def train_and_predict_guarded(model, trees):
    """A training step's forward and backward, then an eval forward, with host reads refused."""
    batch, targets = model.make_batch(trees, VOCAB)
    with no_host_reads():
        out = model(batch, targets)
        out.loss.backward()
        with torch.no_grad():
            model.eval()
            model(batch)


@pytest.mark.parametrize("encoder", ["tree-lstm", "nary-tree-lstm", "child-sum-tree-lstm", "rnn", "rntn"])
def test_forward_and_backward_read_nothing_back(encoder):
    torch.manual_seed(0)
    config = ModelConfig(encoder=encoder, vocab_size=len(VOCAB), input_dim=8, hidden_dim=8, num_classes=5,
                         input_dropout=0.2 if encoder == "tree-lstm" else None)
    model = build_model(config).train()
    cell = "nary-tree-lstm" if encoder == "tree-lstm" else encoder
    trees = [prepare_tree(t, config.encoder).map(label=lambda x: x if isinstance(x, int) else None)
             for t in cases_for(cell).values()]
    train_and_predict_guarded(model, trees)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad and p.dim() > 1)


SEQUENCE_PRESETS = [name for name, preset in ENCODERS.items() if preset.kind == "sequence"]


@pytest.mark.parametrize("encoder", SEQUENCE_PRESETS)
def test_sequence_models_read_nothing_back(encoder):
    """The chain encoders too: the fused ones pack with the batch's own length order (no sort
    order copied to the device, no restoring order copied back)."""
    torch.manual_seed(0)
    config = ModelConfig(encoder=encoder, vocab_size=len(VOCAB), input_dim=8, hidden_dim=8, num_classes=5)
    model = build_model(config).train()
    trees = [t.map(label=lambda x: x if isinstance(x, int) else 2) for t in CASES.values()]
    train_and_predict_guarded(model, trees)
