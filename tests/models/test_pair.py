"""The pair model (Tai et al. 2015, section 4.2): eq. 17's target, the head against a plain
per-pair reference (values and gradients), tree and chain encoders, learning a tiny task."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from treernn.encoders.registry import build_encoder
from treernn.models.pair import Pair, PairModel, sparse_target
from treernn.trees import from_ptb
from treernn.vocab import Vocab


@pytest.mark.parametrize("y, expected", [(3.6, [0, 0, 0.4, 0.6, 0]), (1.0, [1, 0, 0, 0, 0]),
                                         (5.0, [0, 0, 0, 0, 1]), (2.0, [0, 1, 0, 0, 0]),
                                         (4.25, [0, 0, 0, 0.75, 0.25])])
def test_sparse_target_is_eq_17(y, expected):
    p = sparse_target(torch.tensor([y]), 5)[0]
    assert p.tolist() == pytest.approx(expected)
    assert float(p @ torch.arange(1.0, 6.0)) == pytest.approx(y)  # its expectation is the score


TREES = ["(S (NP a dog) (VP runs))", "(S (NP a cat) (VP sleeps))", "(S (NP the dog) (VP sleeps))",
         "(S (NP a man) (VP (V plays) (NP a guitar)))"]


def _pairs():
    trees = [from_ptb(t) for t in TREES]
    return [Pair(trees[0], trees[1], score=2.4, label=1), Pair(trees[0], trees[2], score=3.7, label=0),
            Pair(trees[3], trees[3], score=5.0, label=0), Pair(trees[1], trees[3], score=1.0, label=2)]


def _vocab(pairs):
    return Vocab.build(p.tokens() for p in pairs)


@pytest.mark.parametrize("encoder", ["tree-lstm", "child-sum-tree-lstm", "lstm", "bilstm"])
def test_the_head_matches_a_per_pair_reference_in_values_and_gradients(encoder):
    torch.manual_seed(0)
    pairs = _pairs()
    vocab = _vocab(pairs)
    enc = build_encoder(encoder, len(vocab), 6, 5)
    model = PairModel(enc, "relatedness", 5, tree=encoder.endswith("tree-lstm"), similarity_dim=4)
    batch, targets = model.make_batch(pairs, vocab)
    out = model(batch, targets)
    out.loss.backward()
    got = {name: p.grad.clone().to_dense() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    # the reference: each sentence encoded on its own, the head's equations written out, one pair at a time
    total = 0.0
    scores = []
    for pair in pairs:
        h = []
        for tree in (pair.left, pair.right):
            b, _ = model.make_batch([Pair(tree, tree, score=1.0)], vocab)
            h.append(model.encoder(b).final[0])
        h_mult, h_abs = h[0] * h[1], (h[0] - h[1]).abs()
        h_s = torch.sigmoid(h_mult @ model.mult.weight.T + h_abs @ model.diff.weight.T + model.diff.bias)
        p_hat = torch.softmax(h_s @ model.out.weight.T + model.out.bias, -1)
        scores.append(float((p_hat @ torch.arange(1.0, 6.0)).detach()))
        y = pair.score
        p = torch.zeros(5)
        lo = int(y)
        if lo == y:
            p[lo - 1] = 1
        else:
            p[lo - 1], p[lo] = lo - y + 1, y - lo
        kl = sum(float(pi) * (torch.log(pi) - torch.log(qi)) for pi, qi in zip(p, p_hat) if pi > 0)
        total = total + kl / len(pairs)
    total.backward()
    assert out.scores.tolist() == pytest.approx(scores, abs=1e-5)
    assert float(out.loss.detach()) == pytest.approx(float(total.detach()), abs=1e-5)
    for name, param in model.named_parameters():
        if name in got:
            assert torch.allclose(got[name], param.grad.to_dense(), atol=1e-5), name


def test_classes_use_cross_entropy_on_the_same_features():
    torch.manual_seed(0)
    pairs = _pairs()
    vocab = _vocab(pairs)
    model = PairModel(build_encoder("bilstm", len(vocab), 6, 5), "classes", 3, tree=False)
    batch, targets = model.make_batch(pairs, vocab)
    out = model(batch, targets)
    assert out.scores is None and out.logits.shape == (4, 3)
    expected = F.cross_entropy(out.logits, torch.tensor([1, 0, 0, 2]))
    assert float(out.loss.detach()) == pytest.approx(float(expected.detach()))


@pytest.mark.parametrize("encoder", ["child-sum-tree-lstm", "lstm"])
def test_a_tiny_relatedness_task_is_learned(encoder):
    torch.manual_seed(0)
    pairs = _pairs()
    vocab = _vocab(pairs)
    tree = encoder.endswith("tree-lstm")
    model = PairModel(build_encoder(encoder, len(vocab), 8, 8), "relatedness", 5, tree=tree, similarity_dim=8)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    planned = model.plan(pairs, vocab)
    for _ in range(150):
        batch, targets = model.make_batch(planned, vocab)
        opt.zero_grad()
        model(batch, targets).loss.backward()
        opt.step()
    model.eval()
    batch, _ = model.make_batch(pairs, vocab)
    assert model(batch).scores.tolist() == pytest.approx([2.4, 3.7, 5.0, 1.0], abs=0.15)


def test_bad_arguments_are_named():
    enc = build_encoder("lstm", 10, 4, 4)
    with pytest.raises(Exception, match="task must be"):
        PairModel(enc, "similarity", 5, tree=False)
    with pytest.raises(Exception, match="num_classes must be >= 2"):
        PairModel(enc, "relatedness", 1, tree=False)
