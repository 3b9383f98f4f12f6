"""The speed-ups taken on CPU compute what the plain PyTorch calls compute: the level kernels'
tanh, the dropout mask, the fused optimizer step, the gradient clipping; and a batch large
enough for every fast path gives the same states and gradients through the kernels as
through autograd."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from treernn.batching import batch_trees
from treernn.encoders.tree import TreeEncoder, native_propagate
from treernn.models.classifier import TreeClassifier
from treernn.nn import tree_cells
from treernn.nn.dropout import Dropout
from treernn.training.trainer import TrainConfig, build_optimizer, clip_grad_norm, use_sparse_embeddings
from treernn.trees import Tree
from treernn.vocab import Vocab
from cases import random_binary_tree


@pytest.mark.parametrize("rows", [2, 20, 200])  # below and above the sigmoid form's threshold
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_tanh_equals_tanh(rows, dtype):
    x = torch.randn(rows, 150, dtype=dtype, generator=torch.Generator().manual_seed(0)) * 4
    out = torch.empty_like(x)
    tree_cells._tanh(x, out=out)
    tol = 3e-7 if dtype == torch.float32 else 1e-15
    assert (out - torch.tanh(x)).abs().max() <= tol
    y = x.clone()
    tree_cells._tanh(y, out=y)  # in place
    assert torch.equal(y, out)


def test_dropout_keeps_1_minus_p_and_scales():
    drop = Dropout(0.3)
    x = torch.ones(400, 500, requires_grad=True)
    torch.manual_seed(0)
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.7))
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # the gradient is the mask, scaled
    torch.manual_seed(0)
    assert torch.equal(drop(x), y)  # seeded: the same mask
    drop.eval()
    assert drop(x) is x or torch.equal(drop(x), x)
    assert torch.equal(Dropout(0.0)(x), x) and not Dropout(1.0)(x).any()
    assert Dropout(0.5).state_dict() == nn.Dropout(0.5).state_dict()


def _model(embedding_optimizer: str):
    vocab = Vocab(["a", "b", "c"])
    model = TreeClassifier(TreeEncoder(len(vocab), 6, 5), 3)
    return model, TrainConfig(embedding_optimizer=embedding_optimizer)


def test_fused_optimizer_only_for_dense_cpu_parameters():
    model, cfg = _model("sgd")
    assert use_sparse_embeddings(model, cfg)
    main, emb = build_optimizer(model, cfg)
    assert main.defaults["fused"] and emb is not None  # embeddings (sparse) apart
    model, cfg = _model("same")
    assert use_sparse_embeddings(model, cfg)
    main, emb = build_optimizer(model, cfg)  # sparse embeddings inside: no fused kernel
    assert not main.defaults.get("fused") and emb is None
    model, cfg = _model("same")
    main, _ = build_optimizer(model, cfg)  # dense everywhere (distributed: the trainer leaves them dense)
    assert main.defaults["fused"]
    assert not any(m.sparse for m in model.modules() if isinstance(m, torch.nn.Embedding))  # model unchanged


def test_fused_adagrad_step_equals_the_loop():
    torch.manual_seed(0)
    params = [nn.Parameter(torch.randn(7, 5)), nn.Parameter(torch.randn(5))]
    copies = [nn.Parameter(p.detach().clone()) for p in params]
    fused = torch.optim.Adagrad([{"params": params, "weight_decay": 1e-4}], lr=0.05, fused=True)
    loop = torch.optim.Adagrad([{"params": copies, "weight_decay": 1e-4}], lr=0.05, foreach=False)
    for step in range(3):
        grads = [torch.randn_like(p) for p in params]
        for p, q, g in zip(params, copies, grads):
            p.grad, q.grad = g.clone(), g.clone()
        fused.step()
        loop.step()
    for p, q in zip(params, copies):
        assert torch.allclose(p, q, atol=1e-6)


def test_clip_grad_norm_dense_and_sparse():
    torch.manual_seed(0)
    dense = [nn.Parameter(torch.randn(4, 3)) for _ in range(2)]
    for p in dense:
        p.grad = torch.randn_like(p)
    emb = nn.Embedding(10, 3, sparse=True)
    emb(torch.tensor([1, 1, 4])).sum().backward()  # a repeated row: summed before squaring
    expected = torch.cat([p.grad.flatten() for p in dense] + [emb.weight.grad.to_dense().flatten()])
    before = [p.grad.clone() for p in dense]
    total = clip_grad_norm(dense + [emb.weight], 1.0)
    assert torch.allclose(total, expected.norm())
    scale = 1.0 / (expected.norm() + 1e-6)
    for p, g in zip(dense, before):
        assert torch.allclose(p.grad, g * scale)
    assert torch.allclose(emb.weight.grad.to_dense().norm(), expected[-30:].norm() * scale)


@pytest.mark.parametrize("cell", ["nary-tree-lstm", "child-sum-tree-lstm", "rnn"])
def test_large_batch_kernel_equals_autograd(cell):
    # 64 trees of 20-40 words, H = 64: leaf and level blocks of more than 4,096 elements, so
    # the kernels take the sigmoid form of tanh; the autograd path uses torch.tanh.
    rng = random.Random(0)
    words = [f"w{i}" for i in range(50)]
    trees = [random_binary_tree(rng, words, rng.randint(20, 40)) for _ in range(64)]
    batch = batch_trees(trees, Vocab(words), label_fn=lambda lab: -1)
    assert batch.num_leaves * 64 > tree_cells._TANH_BY_SIGMOID_MIN
    torch.manual_seed(0)
    enc = TreeEncoder(len(words) + 2, 32, 64, cell=cell)
    x_leaf, x_int = enc._projected_inputs(batch, None)
    weights = torch.randn(batch.num_nodes, 64)
    results = []
    for use_kernel in (True, False):
        enc.zero_grad()
        h, c = native_propagate(enc.cell, batch, x_leaf, x_int, use_kernel=use_kernel)
        loss = (h * weights).sum() + (0 if c is None else (c ** 2).sum())
        loss.backward(retain_graph=True)
        results.append((h.detach(), [p.grad.clone() for p in enc.parameters() if p.grad is not None]))
    (h1, g1), (h2, g2) = results
    assert torch.allclose(h1, h2, atol=1e-5)
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)


def _dependency_batch_trees(rng: random.Random, words: list[str]) -> list[Tree]:
    def node(depth: int) -> Tree:
        kids = [node(depth + 1) for _ in range(rng.randint(0, 3 if depth < 3 else 0))]
        return Tree(None, kids, token=rng.choice(words))  # every node has a word
    return [node(0) for _ in range(8)]


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("cell", ["nary-tree-lstm", "child-sum-tree-lstm", "rnn", "rntn"])
def test_inference_leaf_table_equals_per_leaf_computation(cell, frozen):
    # Without gradients the encoder reads leaf states from a per-word table; with gradients
    # it computes them per leaf. Both agree, and the table follows every parameter change.
    rng = random.Random(1)
    words = [f"w{i}" for i in range(30)]
    vocab = Vocab(words)
    if cell == "child-sum-tree-lstm":
        trees = _dependency_batch_trees(rng, words)  # internal nodes with words too
    else:
        trees = [random_binary_tree(rng, words, rng.randint(1, 12)) for _ in range(8)]
    batch = batch_trees(trees, vocab, label_fn=lambda lab: -1)
    torch.manual_seed(0)
    model = TreeClassifier(TreeEncoder(len(vocab), 12, 10, cell=cell), 3)
    main, emb = build_optimizer(model, TrainConfig(lr=0.5, embedding_lr=0.5))
    targets = torch.randint(0, 3, (batch.num_nodes,))

    def plain():  # grad enabled: no table
        return model.encoder(batch).states.detach()

    def table():
        with torch.inference_mode():
            return model.encoder(batch).states

    for _ in range(3):
        assert torch.allclose(table(), plain(), atol=1e-6)
        model.train()
        for opt in (main, emb):
            opt.zero_grad()
        model(batch, targets).loss.backward()
        main.step()  # fused AdaGrad on the CPU: it bumps no version counter
        if not frozen:  # frozen embeddings (data.freeze_embeddings): only the fused step changes anything
            emb.step()  # sparse SGD on the embeddings
        model.eval()
    state = {k: v + 0.1 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert torch.allclose(table(), plain(), atol=1e-6)
    model.double()
    with torch.no_grad():
        assert model.encoder(batch).states.dtype == torch.float64


def test_large_vocabulary_falls_back_to_per_leaf_inference(monkeypatch):
    from treernn.encoders import tree as tree_module

    rng = random.Random(2)
    words = [f"w{i}" for i in range(30)]
    trees = [random_binary_tree(rng, words, rng.randint(1, 12)) for _ in range(8)]
    batch = batch_trees(trees, Vocab(words), label_fn=lambda lab: -1)
    torch.manual_seed(0)
    enc = TreeEncoder(len(words) + 2, 12, 10)
    with torch.no_grad():
        with_table = enc(batch).states
    monkeypatch.setattr(tree_module, "LEAF_TABLE_MAX_WORDS", 10)  # fewer than the vocabulary
    enc._leaf_key = enc._leaf_states = None
    with torch.no_grad():
        per_leaf = enc(batch).states
    assert enc._leaf_states is None  # no table was built
    assert torch.allclose(with_table, per_leaf, atol=1e-6)
