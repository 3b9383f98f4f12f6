"""The fused C++ level loops (treernn.nn.fused, csrc/tree_lstm_levels.cpp: N-ary and Child-Sum) compute what the Python
level kernels compute, values and gradients, in float32 and float64, with gradients flowing in
and out of every part; it is what the native backend runs on a CPU; and where it cannot be built
treernn says so once and falls back. (The reference tests of test_tree_encoders.py run the
native backend fused and unfused, "native-python", against the recursive reference too.)"""

from __future__ import annotations

import random
import shutil
import warnings

import pytest
import torch

from treernn.batching import batch_trees
from treernn.encoders.tree import TreeEncoder, native_propagate
from treernn.errors import CellError
from treernn.nn import fused
from treernn.trees import Tree
from treernn.vocab import Vocab
from cases import random_binary_tree


WORDS = [f"w{i}" for i in range(40)]


def _random_tree(rng: random.Random, depth: int = 0) -> Tree:
    """Any number of children (0-4, unary nodes too: padded child slots) and a word at every
    node, as a dependency tree has (so internal nodes read real inputs, not the bias)."""
    kids = [_random_tree(rng, depth + 1) for _ in range(rng.randint(0, 4 if depth < 4 else 0))]
    return Tree(None, kids, token=rng.choice(WORDS))


def _batch(seed: int = 0, trees: int = 40, cell: str = "nary-tree-lstm"):
    rng = random.Random(seed)
    if cell == "child-sum-tree-lstm" and seed % 2:  # phrase-structure trees: no internal input
        sizes = [1, 2] + [rng.randint(1, 60) for _ in range(trees - 2)]
        return batch_trees([random_binary_tree(rng, WORDS, n) for n in sizes], Vocab(WORDS),
                           label_fn=lambda lab: -1)
    if cell == "child-sum-tree-lstm":
        return batch_trees([_random_tree(rng) for _ in range(trees)], Vocab(WORDS), label_fn=lambda lab: -1)
    # sizes 1 (a lone leaf) to 60 words: levels of 1 to ~200 nodes, so the C++ loop splits the
    # larger levels into row blocks (at::parallel_for, grain 64) and the small ones are one block
    sizes = [1, 2] + [rng.randint(1, 60) for _ in range(trees - 2)]
    return batch_trees([random_binary_tree(rng, WORDS, n) for n in sizes], Vocab(WORDS),
                       label_fn=lambda lab: -1)


def _run(batch, dtype, H, off: bool, cell: str = "nary-tree-lstm"):
    """States, memory and the gradients of the inputs and of every cell parameter."""
    torch.manual_seed(0)
    enc = TreeEncoder(len(WORDS) + 2, 7, H, cell=cell).to(dtype)
    with torch.no_grad():
        for p in enc.parameters():
            p.uniform_(-0.5, 0.5)
    x_leaf, x_int = enc._projected_inputs(batch, None)
    x_leaf = x_leaf.detach().requires_grad_()
    x_int = x_int.detach().clone().requires_grad_()  # a full tensor: its gradient is checked
    g = torch.Generator().manual_seed(1)
    w_h = torch.randn(batch.num_nodes, H, generator=g, dtype=dtype)
    w_c = torch.randn(batch.num_nodes, H, generator=g, dtype=dtype)
    with (fused.disabled() if off else torch.enable_grad()):
        h, c = native_propagate(enc.cell, batch, x_leaf, x_int)
        ((h * w_h).sum() + (c * w_c).sum()).backward()
    grads = {"x_leaf": x_leaf.grad, "x_int": x_int.grad}
    grads.update({n: p.grad for n, p in enc.cell.named_parameters() if p.grad is not None})
    return h.detach(), c.detach(), grads


needs_fused = pytest.mark.skipif(
    shutil.which("ninja") is None or shutil.which("c++") is None, reason="no C++ compiler or ninja")


@needs_fused
def test_builds_where_a_compiler_is():
    assert fused.fused_ops() is not None, fused.fused_status()
    assert fused.fused_status() == "on"
    assert TreeEncoder(10, 4, 5, cell="child-sum-tree-lstm").cell.kernel(3, 2, torch.zeros(1)).fused
    cell = TreeEncoder(10, 4, 5).cell
    assert cell.kernel(3, 2, torch.zeros(1)).fused  # the native backend's default on a CPU
    assert not cell.kernel(3, 2, torch.zeros(1, dtype=torch.float16)).fused
    with fused.disabled():
        assert not cell.kernel(3, 2, torch.zeros(1)).fused
        assert fused.fused_status().startswith("off")


@needs_fused
@pytest.mark.parametrize("dtype, H, tol", [(torch.float64, 9, 1e-10), (torch.float32, 150, 2e-5),
                                           (torch.float32, 8, 2e-5), (torch.float32, 3, 2e-5)])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("cell, seed", [("nary-tree-lstm", 0), ("child-sum-tree-lstm", 0),
                                        ("child-sum-tree-lstm", 1)], ids=["nary", "child-sum-deps",
                                                                          "child-sum-phrases"])
def test_fused_equals_python_loop(dtype, H, tol, threads, cell, seed):
    # H = 150, 9, 3: vector tails (8 floats / 4 doubles a register); 8: none
    batch = _batch(seed=seed, cell=cell)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        h1, c1, g1 = _run(batch, dtype, H, off=False, cell=cell)
        h2, c2, g2 = _run(batch, dtype, H, off=True, cell=cell)
    finally:
        torch.set_num_threads(before)
    assert torch.allclose(h1, h2, atol=tol, rtol=tol)
    assert torch.allclose(c1, c2, atol=tol, rtol=tol)
    recurrent = {"weight_hh"} if cell == "nary-tree-lstm" else {"weight_hh_iou", "weight_hh_f"}
    assert g1.keys() == g2.keys() and {"x_leaf", "x_int", *recurrent} <= g1.keys()
    for name in g1:
        assert torch.allclose(g1[name], g2[name], atol=10 * tol, rtol=10 * tol), name


@needs_fused
@pytest.mark.parametrize("cell, name", [("nary-tree-lstm", "cell.weight_hh"),
                                        ("child-sum-tree-lstm", "cell.weight_hh_f"),
                                        ("child-sum-tree-lstm", "cell.weight_hh_iou")])
def test_fused_gradcheck(cell, name):
    # several trees, so levels have several rows and children come from different levels
    batch = _batch(seed=2, trees=5, cell=cell)
    torch.manual_seed(0)
    enc = TreeEncoder(len(WORDS) + 2, 3, 2, cell=cell).double()
    assert enc.cell.kernel(1, 1, torch.zeros(1, dtype=torch.float64)).fused
    inputs = torch.randn(batch.num_nodes, 3, dtype=torch.float64, requires_grad=True)
    weight = dict(enc.named_parameters())[name].detach().clone().requires_grad_()

    def f(x, w):
        out = torch.func.functional_call(enc, {name: w}, (batch,), {"inputs": x})
        return out.states, out.memory

    assert torch.autograd.gradcheck(f, (inputs, weight))


@pytest.mark.parametrize("cell", ["nary-tree-lstm", "child-sum-tree-lstm"])
def test_eval_path_equals_python_loop(cell):
    # inference: the leaves from the per-word table, then the fused levels
    batch = _batch(seed=5, cell=cell)
    torch.manual_seed(0)
    enc = TreeEncoder(len(WORDS) + 2, 7, 11, cell=cell).eval()
    with torch.no_grad():
        a = enc(batch).states
        with fused.disabled():
            b = enc(batch).states
    assert torch.allclose(a, b, atol=1e-6)


def test_failed_build_warns_once_and_falls_back(monkeypatch):
    monkeypatch.delenv(fused.ENV, raising=False)
    monkeypatch.setattr(fused, "_state", {"tried": False, "ops": None, "why": "not built yet"})

    def fail():
        raise RuntimeError("Error building extension:\nfoo.cpp:1: error: no compiler here\nninja: stopped")

    monkeypatch.setattr(fused, "_build", fail)
    with pytest.warns(RuntimeWarning, match="unavailable: the build failed .*error: no compiler here"):
        assert fused.fused_ops() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not per batch
        assert fused.fused_ops() is None
        batch = _batch(trees=4)
        enc = TreeEncoder(len(WORDS) + 2, 7, 5)
        assert not enc.cell.kernel(1, 1, torch.zeros(1)).fused
        assert enc(batch).states.shape == (batch.num_nodes, 5)  # the Python level loop
    assert fused.fused_status().startswith("off: the build failed")
    monkeypatch.setenv(fused.ENV, "1")
    with pytest.raises(CellError, match="TREERNN_FUSED=1 but"):
        fused.fused_ops()


def test_bad_setting_is_refused(monkeypatch):
    monkeypatch.setenv(fused.ENV, "yes")
    with pytest.raises(CellError, match="TREERNN_FUSED='yes': use 0"):
        fused.fused_ops()


def test_a_stale_build_lock_is_removed_not_waited_for(monkeypatch, tmp_path, capsys):
    # PyTorch's loader waits, without a time limit, while a "lock" file is in the build folder; a
    # build that was killed leaves one behind
    import os
    import time

    from torch.utils import cpp_extension

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.delenv(fused.ENV, raising=False)
    monkeypatch.setattr(fused, "_state", {"tried": False, "ops": None, "why": "not built yet"})
    seen = {}

    def load(name, **kwargs):  # stands in for the compiler: records what the loader would find
        seen["lock"] = (tmp_path / name / "lock").exists()
        seen["name"] = name

    monkeypatch.setattr(cpp_extension, "load", load)
    build_dirs = []
    real = cpp_extension._get_build_directory

    def build_directory(name, verbose):
        path = real(name, verbose)
        if not build_dirs:  # a lock left an hour ago
            lock = os.path.join(path, "lock")
            open(lock, "w").close()
            os.utime(lock, (time.time() - 3600, time.time() - 3600))
        build_dirs.append(path)
        return path

    monkeypatch.setattr(cpp_extension, "_get_build_directory", build_directory)
    assert fused.fused_ops() is not None
    assert seen["lock"] is False and seen["name"].startswith("treernn_levels_")
    assert "removing a stale build lock" in capsys.readouterr().err


def test_a_cpu_without_avx2_runs_the_python_loop_without_a_warning(monkeypatch):
    monkeypatch.delenv(fused.ENV, raising=False)
    monkeypatch.setattr(fused, "_state", {"tried": False, "ops": None, "why": "not built yet"})
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "DEFAULT")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fused.fused_ops() is None
        assert not TreeEncoder(10, 4, 5).cell.kernel(3, 2, torch.zeros(1)).fused
    assert fused.fused_status() == "off: this CPU's vector capability is DEFAULT, the kernels need AVX2"
