"""Tree batches, tree cells and both tree-encoder backends against a slow recursive reference.

The reference (``reference_states``) is written from the papers' equations on the cells'
documented parameter blocks, one node at a time by recursion, so it checks the cell maths
and the traversals at once.
"""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from treernn.batching import TreeBatch, TreeBatchError, batch_trees, plan_tree
from treernn.encoders import tree as tree_module
from treernn.encoders.tree import TreeEncoder
from treernn.errors import TreeStructureError
from treernn.nn import fused
from treernn.nn.tree_cells import (
    ChildSumTreeLSTMCell,
    NaryTreeLSTMCell,
    RecursiveCell,
    RNTNCell,
)
from cases import BINARY_CELLS, CASES, VOCAB, cases_for
from treernn.trees import Tree, binarize, right_branching_tree

CELLS = ["nary-tree-lstm", "child-sum-tree-lstm", "rnn", "rntn"]
# "native-autograd": the native traversal with autograd per level instead of the cell's kernel;
# "native-python": the cell's kernel level by level from Python (the fused C++ loop turned off)
BACKENDS = ["native", "native-autograd", "native-python", "dgl"]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device"))]

E, H = 5, 4  # tiny sizes: float64 comparisons and gradcheck stay fast


def mixed_batch(cell: str) -> list[Tree]:
    return list(cases_for(cell).values())


def make_encoder(cell: str, backend: str, device: str = "cpu", e: int = E, h: int = H,
                 seed: int = 0) -> TreeEncoder:
    if backend == "dgl":  # the DGL wheel here is a CPU build; a GPU machine may have no DGL at all
        from treernn._dgl import DGLUnavailableError, import_dgl

        try:
            import_dgl(device)
        except DGLUnavailableError as exc:
            pytest.skip(f"DGL backend on {device}: {exc}")
    torch.manual_seed(seed)
    enc = TreeEncoder(len(VOCAB), e, h, cell=cell,
                      backend="dgl" if backend == "dgl" else "native")
    with torch.no_grad():  # non-zero biases so every parameter block matters
        for p in enc.parameters():
            p.uniform_(-0.5, 0.5)
        enc.embedding.weight[0].zero_()
    return enc.double().to(device)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # The tensors here are tiny: threads only add synchronization, which becomes very slow
    # when other processes share the CPU cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def backend_mode(request, monkeypatch):
    backend = request.param
    if backend == "native-autograd":
        monkeypatch.setattr(tree_module, "native_propagate",
                            functools.partial(tree_module.native_propagate, use_kernel=False))
    if backend == "native-python":
        monkeypatch.setenv(fused.ENV, "0")
    return backend


def with_backend(f):
    return pytest.mark.parametrize("backend_mode", BACKENDS, indirect=True)(f)


# --------------------------------------------------------------------------- reference
def _ref_node(cell, node, x, kids):
    """One node from the papers' equations; ``kids`` are the children's (h, c) in order."""
    sig, tanh = torch.sigmoid, torch.tanh
    Hh = cell.hidden_size
    zeros = x.new_zeros(Hh)
    if isinstance(cell, NaryTreeLSTMCell):
        W, b, U = cell.weight_ih, cell.bias, cell.weight_hh
        Wi, Wo, Wu, Wf = W.split(Hh)
        bi, bo, bu, bf = b.split(Hh)
        hs = [k[0] for k in kids] or [zeros, zeros]
        cs = [k[1] for k in kids] or [zeros, zeros]

        def u_term(row):  # sum_l U^{(row)}_l h_l
            return sum(U[row * Hh:(row + 1) * Hh, l * Hh:(l + 1) * Hh] @ hs[l] for l in range(2))

        i = sig(Wi @ x + u_term(0) + bi)  # Tai et al. 2015, eq. 9
        f = [sig(Wf @ x + u_term(2 + k) + bf) for k in range(2)]  # eq. 10
        o = sig(Wo @ x + u_term(1) + bo)  # eq. 11
        u = tanh(Wu @ x + u_term(4) + bu)  # eq. 12
        c = i * u + sum(f[k] * cs[k] for k in range(2))  # eq. 13
        return o * tanh(c), c  # eq. 14
    if isinstance(cell, ChildSumTreeLSTMCell):
        Wi, Wo, Wu, Wf = cell.weight_ih.split(Hh)
        bi, bo, bu, bf = cell.bias.split(Hh)
        Ui, Uo, Uu = cell.weight_hh_iou.split(Hh)
        Uf = cell.weight_hh_f
        h_sum = sum((k[0] for k in kids), zeros)  # eq. 2
        i = sig(Wi @ x + Ui @ h_sum + bi)  # eq. 3
        o = sig(Wo @ x + Uo @ h_sum + bo)  # eq. 5
        u = tanh(Wu @ x + Uu @ h_sum + bu)  # eq. 6
        c = i * u + sum((sig(Wf @ x + Uf @ hk + bf) * ck for hk, ck in kids), zeros)  # eqs 4, 7
        return o * tanh(c), c  # eq. 8
    if not kids:  # Socher et al. leaves
        if cell.weight_leaf is None:
            return x, None
        return tanh(cell.weight_leaf @ x + cell.bias_leaf), None
    z = torch.cat([kids[0][0], kids[1][0]])
    if isinstance(cell, RecursiveCell):
        return tanh(cell.weight @ z + cell.bias), None  # Socher et al. 2011
    assert isinstance(cell, RNTNCell)
    quad = torch.stack([z @ cell.weight_v[k] @ z for k in range(Hh)])
    return tanh(quad + cell.weight @ z + cell.bias), None  # Socher et al. 2013, eq. 2


def reference_states(enc: TreeEncoder, trees, inputs=None):
    """States (N, H) and memory in node order, by recursion over each tree."""
    out_h, out_c = [], []
    row = [0]
    for tree in trees:
        order = tree.postorder()
        where = {id(n): row[0] + i for i, n in enumerate(order)}
        row[0] += len(order)

        def visit(node):
            kids = [visit(k) for k in node.children]
            if node.token is None:
                x = enc.embedding.weight.new_zeros(enc.get_input_dim())
            elif inputs is not None:
                x = inputs[where[id(node)]]
            else:
                x = enc.embedding.weight[VOCAB.lookup(node.token)]
            h, c = _ref_node(enc.cell, node, x, kids)
            out_h.append((where[id(node)], h))
            out_c.append((where[id(node)], c))
            return h, c

        visit(tree)
    h = torch.stack([v for _, v in sorted(out_h, key=lambda t: t[0])])
    c = None
    if out_c[0][1] is not None:
        c = torch.stack([v for _, v in sorted(out_c, key=lambda t: t[0])])
    return h, c


def _loss(states, memory, weights):
    loss = (states * weights).sum()
    return loss if memory is None else loss + (memory ** 2).sum()


# --------------------------------------------------------------------------- batches
def test_batch_invariants():
    trees = list(CASES.values())
    batch = batch_trees(trees, VOCAB, label_fn=lambda lab: -1 if not isinstance(lab, int) else lab)
    sizes = [len(t.postorder()) for t in trees]
    assert batch.num_trees == len(trees) and batch.num_nodes == sum(sizes)
    assert batch.sizes.tolist() == sizes
    assert batch.offsets.tolist() == [sum(sizes[:i]) for i in range(len(trees) + 1)]
    assert batch.roots.tolist() == [sum(sizes[:i + 1]) - 1 for i in range(len(trees))]
    assert batch.levels.tolist() == [h for t in trees for h in t.heights()]
    nodes = [n for t in trees for n in t.postorder()]
    assert batch.has_token.tolist() == [n.token is not None for n in nodes]
    ids = [0 if n.token is None else VOCAB.lookup(n.token) for n in nodes]
    assert batch.token_ids.tolist() == ids
    assert batch.labels.tolist() == [n.label if isinstance(n.label, int) else -1 for n in nodes]
    assert torch.equal(batch.unique_token_ids[batch.token_unique_index], batch.slot_token_ids)
    assert torch.equal(batch.slot_token_ids, batch.token_ids[batch.order[batch.token_slots]])
    # level order: contiguous levels, children in lower levels, child positions in columns
    order, slot = batch.order.tolist(), batch.slot.tolist()
    assert sorted(order) == list(range(batch.num_nodes))
    assert all(slot[order[j]] == j for j in range(batch.num_nodes))
    where = {id(n): i for i, n in enumerate(nodes)}
    levels = batch.levels.tolist()
    for k in range(1, batch.num_levels):
        kids, mask = batch.level_child_index(k)
        lo = batch.level_offsets[k]
        for r, (row, m) in enumerate(zip(kids.tolist(), mask.tolist())):
            node = nodes[order[lo + r]]
            assert levels[order[lo + r]] == k
            real_kids = [order[s] for s, real in zip(row, m) if real]
            assert real_kids == [where[id(c)] for c in node.children]
            assert all(s == batch.num_nodes for s, real in zip(row, m) if not real)
    assert not batch.is_binary and batch.max_arity == 4


def test_batch_from_plans_equals_batch_from_trees():
    trees = list(CASES.values())
    fn = lambda lab: -1 if lab is None or isinstance(lab, str) else lab  # noqa: E731
    a = batch_trees(trees, VOCAB, label_fn=fn)
    b = batch_trees([plan_tree(t, VOCAB, fn) for t in trees])
    assert torch.equal(a._flat, b._flat) and a._meta == b._meta


def test_empty_batch_refused():
    with pytest.raises(TreeBatchError, match="empty"):
        batch_trees([], VOCAB)


def test_string_labels_need_label_fn():
    with pytest.raises(TreeBatchError, match="label_fn"):
        batch_trees([Tree("NP", token="dog")], VOCAB)
    batch = batch_trees([Tree("NP", token="dog")], VOCAB, label_fn=lambda lab: 7)
    assert batch.labels.tolist() == [7]


def test_to_returns_a_new_batch():
    batch = batch_trees(mixed_batch("child-sum-tree-lstm"), VOCAB, label_fn=lambda lab: -1)
    moved = batch.to("cpu")
    assert isinstance(moved, TreeBatch) and moved is not batch
    assert torch.equal(moved._flat, batch._flat) and moved.level_offsets == batch.level_offsets
    assert moved.device == torch.device("cpu") and batch.device == torch.device("cpu")


def test_dgl_frontiers_are_the_levels():
    from treernn._dgl import import_dgl

    dgl = import_dgl()
    batch = batch_trees(mixed_batch("child-sum-tree-lstm"), VOCAB, label_fn=lambda lab: -1)
    g = dgl.graph((batch.edge_src, batch.edge_dst), num_nodes=batch.num_nodes)
    frontiers = [sorted(f.tolist()) for f in dgl.topological_nodes_generator(g)]
    off = batch.level_offsets
    assert frontiers == [sorted(batch.order[off[k]:off[k + 1]].tolist())
                         for k in range(batch.num_levels)]


# --------------------------------------------------------------------------- encoders
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dims", [(E, H), (H, H)], ids=["E!=H", "E==H"])
@pytest.mark.parametrize("cell", CELLS)
@with_backend
def test_matches_reference_values_and_gradients(cell, backend_mode, dims, device):
    trees = mixed_batch(cell)
    batch = batch_trees(trees, VOCAB, label_fn=lambda lab: -1, device=device)
    enc = make_encoder(cell, backend_mode, device, *dims)
    ref = make_encoder(cell, backend_mode, device, *dims)
    out = enc(batch)
    h_ref, c_ref = reference_states(ref, trees)
    assert torch.allclose(out.states, h_ref)
    assert torch.allclose(out.final, h_ref[batch.roots])
    if c_ref is None:
        assert out.memory is None
    else:
        assert torch.allclose(out.memory, c_ref)
    weights = torch.randn(h_ref.shape, dtype=h_ref.dtype, device=device,
                          generator=torch.Generator(device).manual_seed(1))
    _loss(out.states, out.memory, weights).backward()
    _loss(h_ref, c_ref, weights).backward()
    for (name, p), q in zip(enc.named_parameters(), ref.parameters()):
        assert torch.allclose(p.grad, q.grad), name


@pytest.mark.parametrize("cell", CELLS)
@with_backend
def test_given_inputs_match_reference(cell, backend_mode):
    trees = mixed_batch(cell)
    batch = batch_trees(trees, VOCAB, label_fn=lambda lab: -1)
    enc = make_encoder(cell, backend_mode)
    inputs = torch.randn(batch.num_nodes, E, dtype=torch.float64, requires_grad=True)
    ref_inputs = inputs.detach().clone().requires_grad_()
    out = enc(batch, inputs=inputs)
    h_ref, c_ref = reference_states(enc, trees, inputs=ref_inputs)
    assert torch.allclose(out.states, h_ref)
    weights = torch.randn_like(h_ref)
    _loss(out.states, out.memory, weights).backward()
    _loss(h_ref, c_ref, weights).backward()
    assert torch.allclose(inputs.grad, ref_inputs.grad)
    # nodes without a token read no input
    assert not inputs.grad[~batch.has_token].any()


@pytest.mark.parametrize("cell", CELLS)
@with_backend
def test_gradcheck(cell, backend_mode):
    trees = [CASES["binary"], binarize(CASES["n-ary"]) if cell in BINARY_CELLS else CASES["n-ary"]]
    batch = batch_trees(trees, VOCAB, label_fn=lambda lab: -1)
    enc = make_encoder(cell, backend_mode, e=3, h=2)
    inputs = torch.randn(batch.num_nodes, 3, dtype=torch.float64, requires_grad=True)
    # the recurrent weight of each cell, checked through the same call
    name = {"nary-tree-lstm": "cell.weight_hh", "child-sum-tree-lstm": "cell.weight_hh_f",
            "rnn": "cell.weight", "rntn": "cell.weight_v"}[cell]
    weight = dict(enc.named_parameters())[name].detach().clone().requires_grad_()

    def f(x, w):
        out = torch.func.functional_call(enc, {name: w}, (batch,), {"inputs": x})
        return out.states if out.memory is None else (out.states, out.memory)

    assert torch.autograd.gradcheck(f, (inputs, weight))


@pytest.mark.parametrize("backend", ["native", "dgl"])
def test_chain_tree_equals_sequence_loop(backend):
    # A right-branching tree (w1 (w2 (w3 ...))) is a chain; the N-ary Tree-LSTM over it is
    # the loop s = cell(leaf w_t, s) from the last word back, with the gate equations inline.
    tokens = [f"w{i}" for i in range(7)]
    batch = batch_trees([right_branching_tree(tokens)], VOCAB)
    enc = make_encoder("nary-tree-lstm", backend)
    out = enc(batch)
    cell = enc.cell
    W, b, U = cell.weight_ih, cell.bias, cell.weight_hh
    x = enc.embedding.weight[torch.tensor(VOCAB.encode(tokens))]  # (L, E)
    g = x @ W.t() + b  # (L, 4H): [i, o, u, f] input terms
    i, o, u, _ = g.split(H, 1)  # leaves have no forget gate
    leaf_c = torch.sigmoid(i) * torch.tanh(u)
    leaf_h = torch.sigmoid(o) * torch.tanh(leaf_c)
    h, c = leaf_h[-1], leaf_c[-1]
    internal = []
    for t in range(len(tokens) - 2, -1, -1):  # internal node joining w_t and the chain after it
        pre = U @ torch.cat([leaf_h[t], h])  # (5H,) [i, o, f_1, f_2, u]; no input inside
        bi, bo, bu, bf = b.split(H)
        gi, go, gf1, gf2, gu = pre.split(H)
        c = (torch.sigmoid(gi + bi) * torch.tanh(gu + bu)
             + torch.sigmoid(gf1 + bf) * leaf_c[t] + torch.sigmoid(gf2 + bf) * c)
        h = torch.sigmoid(go + bo) * torch.tanh(c)
        internal.append(h)
    # post-order of (w0 (w1 (... (w5 w6)))): w0, w1, ..., w6, then internal nodes innermost first
    assert torch.allclose(out.states[len(tokens):], torch.stack(internal))
    assert torch.allclose(out.states[:len(tokens)], leaf_h)
    assert torch.allclose(out.final[0], h)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("backend", ["native", "dgl"])
def test_shapes(cell, backend):
    trees = mixed_batch(cell)
    batch = batch_trees(trees, VOCAB, label_fn=lambda lab: -1)
    enc = make_encoder(cell, backend, h=6)
    out = enc(batch)
    N, B = batch.num_nodes, len(trees)
    assert out.states.shape == (N, 6) and out.final.shape == (B, 6)
    assert out.mask is None
    assert (out.memory is None) == (cell in ("rnn", "rntn"))
    if out.memory is not None:
        assert out.memory.shape == (N, 6)
    assert enc.get_output_dim() == 6 and enc.get_input_dim() == E and not enc.is_bidirectional()
    with torch.no_grad():  # the inference path gives the same states
        assert torch.allclose(enc(batch).states, out.states)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("backend", ["native", "dgl"])
def test_single_leaf_trees(cell, backend):
    trees = [Tree(1, token="good"), Tree(0, token="a")]
    batch = batch_trees(trees, VOCAB)
    enc = make_encoder(cell, backend)
    out = enc(batch)
    h_ref, _ = reference_states(enc, trees)
    assert batch.num_levels == 1 and torch.allclose(out.states, h_ref)
    assert torch.allclose(out.final, h_ref)
    out.final.sum().backward()


@pytest.mark.parametrize("cell", ["nary-tree-lstm", "child-sum-tree-lstm", "rnn"])
@pytest.mark.parametrize("backend", ["native", "dgl"])
def test_deep_tree(cell, backend):
    tree = right_branching_tree([f"w{i % 12}" for i in range(1001)])  # depth 1,000
    batch = batch_trees([tree], VOCAB)
    assert batch.num_levels == 1001
    enc = make_encoder(cell, backend, h=3)
    out = enc(batch)
    out.final.sum().backward()
    assert torch.isfinite(out.states).all()
    assert all(torch.isfinite(p.grad).all() for p in enc.cell.parameters())


@pytest.mark.parametrize("cell", sorted(BINARY_CELLS))
@pytest.mark.parametrize("backend", ["native", "dgl"])
def test_non_binary_refused(cell, backend):
    enc = make_encoder(cell, backend)
    for name in ("n-ary", "unary-chain", "dependency"):
        batch = batch_trees([CASES["binary"], CASES[name]], VOCAB, label_fn=lambda lab: -1)
        with pytest.raises(TreeStructureError, match="binarize"):
            enc(batch)


def test_cell_refuses_non_binary_children():
    cell = NaryTreeLSTMCell(E, H)
    with pytest.raises(TreeStructureError, match="binarize"):
        cell(torch.zeros(2, E), torch.zeros(2, 3, H), torch.zeros(2, 3, H))


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="child-sum-tree-lstm"):
        TreeEncoder(10, E, H, cell="lstm")
    with pytest.raises(ValueError, match="native"):
        TreeEncoder(10, E, H, backend="fast")


def test_batch_on_another_device_is_refused_clearly():
    enc = make_encoder("rnn", "native")
    batch = batch_trees([CASES["binary"]], VOCAB)
    batch = TreeBatch(batch._flat.to("meta"), batch._layout, batch._meta)
    with pytest.raises(ValueError, match=r"batch\.to"):
        enc(batch)


def test_cells_have_repr_and_reset():
    for cls in (NaryTreeLSTMCell, ChildSumTreeLSTMCell, RecursiveCell, RNTNCell):
        cell = cls(E, H)
        assert f"hidden_size={H}" in repr(cell)
        before = [p.detach().clone() for p in cell.parameters()]
        cell.reset_parameters()
        assert any(not torch.equal(a, b) for a, b in zip(before, cell.parameters()))
    assert "leaf=identity" in repr(RecursiveCell(H, H))


def test_nary_loss_on_every_node_trains():
    # a few steps of Adam on the tiny mixed batch lower the node-level loss
    trees = mixed_batch("nary-tree-lstm")
    batch = batch_trees(trees, VOCAB)
    enc = make_encoder("nary-tree-lstm", "native")
    head = torch.nn.Linear(H, 5).double()
    opt = torch.optim.Adam(list(enc.parameters()) + list(head.parameters()), lr=0.05)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(head(enc(batch).states), batch.labels, ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_importing_batching_and_native_encoder_does_not_import_dgl():
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from treernn.batching import batch_trees\n"
        "from treernn.encoders.tree import TreeEncoder\n"
        "from treernn.trees import from_ptb\n"
        "from treernn.vocab import Vocab\n"
        "t = from_ptb('(1 (2 a) (3 b))', label_type=int)\n"
        "TreeEncoder(4, 3, 2)(batch_trees([t], Vocab(['a', 'b'])))\n"
        "assert 'dgl' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dgl_on_cuda_with_a_cpu_build_points_to_the_native_backend():
    from treernn._dgl import DGLUnavailableError, _dgl_has_cuda, import_dgl

    try:
        dgl = import_dgl()
    except DGLUnavailableError as exc:
        pytest.skip(str(exc))
    if _dgl_has_cuda(dgl):
        pytest.skip("this DGL build has CUDA")
    with pytest.raises(DGLUnavailableError, match="--backend native"):
        import_dgl("cuda")


@pytest.mark.parametrize("use", ["states", "memory"])
@pytest.mark.parametrize("cell", ["nary-tree-lstm", "child-sum-tree-lstm"])
@with_backend
def test_gradient_through_one_output_only(cell, backend_mode, use):
    trees = mixed_batch(cell)
    batch = batch_trees(trees, VOCAB, label_fn=lambda lab: -1)
    enc, ref = make_encoder(cell, backend_mode), make_encoder(cell, backend_mode)
    out = enc(batch)
    h_ref, c_ref = reference_states(ref, trees)
    (out.states if use == "states" else out.memory).pow(2).sum().backward()
    (h_ref if use == "states" else c_ref).pow(2).sum().backward()
    for (name, p), q in zip(enc.named_parameters(), ref.parameters()):
        assert torch.allclose(p.grad, q.grad), name


@pytest.mark.parametrize("cell", CELLS)
def test_input_dropout_masks_each_token_while_training_only(cell):
    trees = mixed_batch(cell)
    batch = batch_trees(trees, VOCAB, label_fn=lambda lab: -1)
    enc = make_encoder(cell, "native")
    enc.input_dropout.p = 0.5
    with torch.no_grad():
        enc.eval()
        plain = enc(batch).states
        enc.train()
    torch.manual_seed(7)
    dropped = enc(batch).states
    # the same mask drawn by hand: one per token (not per distinct word), scaled by 1/(1-p)
    torch.manual_seed(7)
    x = enc.embedding(batch.slot_token_ids)  # (T, E) leaves first
    x = x * torch.rand_like(x).ge(0.5) * 2.0
    inputs = torch.zeros(batch.num_nodes, E, dtype=torch.float64)
    inputs[batch.order[batch.token_slots]] = x
    assert torch.allclose(dropped, enc(batch, inputs=inputs).states)
    assert not torch.allclose(dropped, plain)
    with torch.no_grad():  # evaluation ignores it
        enc.eval()
        assert torch.allclose(enc(batch).states, plain)
    with pytest.raises(ValueError, match="input_dropout"):
        TreeEncoder(10, E, H, input_dropout=1.0)
