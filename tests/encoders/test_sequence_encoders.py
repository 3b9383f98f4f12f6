"""Chain encoders: SequenceBatch, the loop cells of treernn.nn.chain, SequenceEncoder and the
classic stacks. Every loop cell is checked against a plain per-sentence Python loop written
here from the paper's equations; degenerate settings against the fused PyTorch modules.

Legend: B sentences, L sequence length, D directions, E input size, H hidden size.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from treernn.batching.sequence import SequenceBatch, SequenceBatchError, batch_sequences
from treernn.encoders.base import Encoder
from treernn.encoders.classic import BiLSTMEncoder, BiLSTMLSTMEncoder, RCNNEncoder
from treernn.encoders.sequence import CELLS, LOOP_CELLS, EncoderError, SequenceEncoder
from treernn.errors import TreernnError
from treernn.nn.chain import (
    ChainError,
    EchoStateCell,
    EchoStateNetwork,
    JordanRNN,
    JordanRNNCell,
    LeakyRNN,
    LeakyRNNCell,
    PeepholeLSTM,
    PeepholeLSTMCell,
    reverse_padded,
)
from treernn.trees import Tree
from treernn.vocab import Vocab

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SENTENCES = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["dogs", "bark"],
    ["a"],
    ["the", "dog", "saw", "a", "cat"],
]
VOCAB = Vocab.build(SENTENCES)
E, H = 5, 4


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ------------------------------------------------------------------ plain reference loops
ACT = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda t: t}


def ref_step(cell, x, state):
    """One step on one token, ``x`` (E,), written out from the paper's equations."""
    if isinstance(cell, JordanRNNCell):
        y = state
        h = torch.tanh(cell.weight_ih @ x + cell.weight_yh @ y + cell.bias_h)
        y = ACT[cell.activation](cell.weight_hy @ h + cell.bias_y)
        return y, y
    if isinstance(cell, PeepholeLSTMCell):
        h, c = state
        Wi, Wf, Wc, Wo = cell.weight_ih.chunk(4)
        Ui, Uf, Uc, Uo = cell.weight_hh.chunk(4)
        b = cell.bias_ih + cell.bias_hh
        bi, bf, bc, bo = b.chunk(4)
        i = torch.sigmoid(Wi @ x + Ui @ h + cell.weight_ci * c + bi)
        f = torch.sigmoid(Wf @ x + Uf @ h + cell.weight_cf * c + bf)
        c = f * c + i * torch.tanh(Wc @ x + Uc @ h + bc)
        o = torch.sigmoid(Wo @ x + Uo @ h + cell.weight_co * c + bo)
        h = o * torch.tanh(c)
        return h, (h, c)
    if isinstance(cell, LeakyRNNCell):
        a = cell.dt / cell.tau
        pre = cell.weight_ih @ x + cell.bias_ih + cell.weight_hh @ state + cell.bias_hh
        h = (1 - a) * state + a * ACT[cell.nonlinearity](pre)
        return h, h
    if isinstance(cell, EchoStateCell):
        a = cell.leak_rate
        pre = cell.weight_ih @ x + cell.weight_hh @ state + cell.bias
        h = (1 - a) * state + a * torch.tanh(pre)
        return h, h
    raise TypeError(cell)


def ref_zero(cell, dtype):
    z = torch.zeros(cell.output_size, dtype=dtype)
    return (z, z) if isinstance(cell, PeepholeLSTMCell) else z


def ref_layer(layer, xs):
    """One sentence ``xs`` (T, E), unpadded -> outputs (T, D*O) and final states [layers*D]."""
    D = layer.num_directions
    finals = []
    for k in range(layer.num_layers):
        outs = []
        for d in range(D):
            cell = layer.cells[k * D + d]
            seq = xs if d == 0 else xs.flip(0)
            state, ys = ref_zero(cell, xs.dtype), []
            for x in seq:
                y, state = ref_step(cell, x, state)
                ys.append(y)
            ys = torch.stack(ys)
            outs.append(ys if d == 0 else ys.flip(0))
            finals.append(state)
        xs = torch.cat(outs, dim=1)
    return xs, finals


def make_layer(name, input_size, hidden, num_layers=1, bidirectional=False, dtype=None):
    kwargs = {
        "jordan": {"activation": "sigmoid", "output_size": hidden + 1},
        "peephole_lstm": {},
        "leaky": {"tau": torch.linspace(1.0, 4.0, hidden), "learn_tau": True},
        "esn": {"spectral_radius": 0.8, "density": 0.5, "leak_rate": 0.6, "bias_scaling": 0.2},
    }[name]
    return LOOP_CELLS[name](input_size, hidden, num_layers, bidirectional, dtype=dtype, **kwargs)


def padded(lengths, dim, dtype=torch.float32, garbage=True):
    """A random padded batch (B, L, dim); padding is filled with garbage (it must be ignored)."""
    lengths = torch.tensor(lengths)
    x = torch.randn(len(lengths), int(lengths.max()), dim, dtype=dtype)
    if not garbage:
        x = x * (torch.arange(x.size(1))[None, :, None] < lengths[:, None, None])
    return x, lengths


# ------------------------------------------------------------------------------- batching
def test_batch_sequences_layout():
    batch = batch_sequences(SENTENCES, VOCAB)
    assert isinstance(batch, SequenceBatch) and len(batch) == 4 and batch.max_length == 6
    assert batch.token_ids.shape == (4, 6) and batch.token_ids.dtype == torch.long
    assert batch.lengths.tolist() == [6, 2, 1, 5] and batch.lengths_cpu.device.type == "cpu"
    assert batch.mask.dtype == torch.bool
    assert torch.equal(batch.mask, batch.token_ids != 0)
    assert batch.token_ids[1].tolist() == VOCAB.encode(["dogs", "bark"]) + [0] * 4
    unk = batch_sequences([["zebra"]], VOCAB)
    assert unk.token_ids.tolist() == [[VOCAB.unk_id]]


def test_batch_accepts_trees():
    tree = Tree("S", [Tree("NP", [Tree.leaf("the"), Tree.leaf("cat")]), Tree.leaf("sat")])
    batch = batch_sequences([tree, ["a"]], VOCAB)
    assert batch.tokens[0] == ("the", "cat", "sat")
    assert batch.token_ids[0].tolist() == VOCAB.encode(["the", "cat", "sat"])


@pytest.mark.parametrize(
    "sentences, needle",
    [([], "no sentences"), ([["a"], []], "sentence 1 has no tokens"), (["a b"], "split it")],
)
def test_batch_refuses_bad_input(sentences, needle):
    with pytest.raises(SequenceBatchError, match=needle) as info:
        batch_sequences(sentences, VOCAB)
    assert isinstance(info.value, TreernnError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("device", DEVICES)
def test_batch_to_returns_new_batch(device):
    batch = batch_sequences(SENTENCES, VOCAB)
    moved = batch.to(device)
    assert moved is not batch and batch.token_ids.device.type == "cpu"
    assert moved.token_ids.device.type == device and moved.mask.device.type == device
    assert moved.lengths.device.type == device and moved.lengths_cpu.device.type == "cpu"
    assert moved.pack_order.device.type == device and moved.unpack_order.device.type == device
    assert moved.sorted_lengths_cpu.device.type == "cpu"


def test_batch_pack_order_is_torchs_own():
    """Longest first, ties where pack_padded_sequence(enforce_sorted=False) puts them: the
    packed rows are the same, so float results (and training runs) are exactly as before."""
    from torch.nn.utils.rnn import pack_padded_sequence

    sentences = [["a"] * n for n in (1, 2, 1, 3, 2, 5, 5, 1, 3, 2, 4, 1, 5, 2, 3, 1, 1, 2, 3, 5, 4, 2, 1, 3, 5)]
    batch = batch_sequences(sentences, VOCAB)
    packed = pack_padded_sequence(torch.zeros(len(sentences), 5), batch.lengths_cpu, batch_first=True,
                                  enforce_sorted=False)
    assert batch.pack_order.tolist() == packed.sorted_indices.tolist()
    assert batch.unpack_order.tolist() == packed.unsorted_indices.tolist()
    assert batch.sorted_lengths_cpu.tolist() == sorted(map(len, sentences), reverse=True)
    assert batch.sorted_lengths_cpu.device.type == "cpu"


@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
def test_run_fused_equals_torchs_own_unsorted_packing(kind, with_hx):
    """run_fused sorts with the batch's orders; the result is that of pack_padded_sequence's
    enforce_sorted=False (states, final states and gradients), to the bit."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from treernn.encoders.sequence import run_fused

    rnn = kind(E, H, num_layers=2, bidirectional=True, batch_first=True)
    sentences = SENTENCES * 5  # ties in length: their order in the packed rows must be torch's
    batch = batch_sequences(sentences, VOCAB)
    x = torch.randn(len(sentences), batch.max_length, E, requires_grad=True)
    h0 = torch.randn(4, len(sentences), H) if with_hx else None
    hx = (h0, torch.randn_like(h0)) if with_hx and kind is nn.LSTM else h0
    states, h_n = run_fused(rnn, x, batch, hx)
    (states.sum() + h_n.sum()).backward()
    grad, x.grad = x.grad, None
    packed = pack_padded_sequence(x, batch.lengths_cpu, batch_first=True, enforce_sorted=False)
    out, h = rnn(packed, hx)
    ref, _ = pad_packed_sequence(out, batch_first=True, total_length=batch.max_length)
    ref_h = h[0] if isinstance(h, tuple) else h
    (ref.sum() + ref_h.sum()).backward()
    assert torch.equal(states, ref) and torch.equal(h_n, ref_h)  # bit for bit: the same packed rows
    assert torch.equal(grad, x.grad)


def test_reverse_padded_is_an_involution():
    x, lengths = padded([3, 1, 2], 2)
    r = reverse_padded(x, lengths)
    assert torch.equal(r[0], x[0].flip(0)) and torch.equal(r[1], x[1])
    assert torch.equal(r[2, :2], x[2, :2].flip(0)) and torch.equal(r[2, 2], x[2, 2])
    assert torch.equal(reverse_padded(r, lengths), x)


# ------------------------------------------------------------------------- encoder: shapes
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_encoder_shapes_masks_and_padding_invariance(cell, bidirectional, num_layers, pooling):
    dropout = 0.3 if num_layers > 1 else 0.0
    enc = SequenceEncoder(len(VOCAB), E, H, cell, num_layers, bidirectional, dropout, pooling)
    enc.eval()
    D = 2 if bidirectional else 1
    assert isinstance(enc, Encoder) and enc.get_input_dim() == E
    assert enc.get_output_dim() == D * H and enc.is_bidirectional() == bidirectional
    batch = batch_sequences(SENTENCES, VOCAB)
    out = enc(batch)
    assert out.states.shape == (4, 6, D * H) and out.final.shape == (4, D * H)
    assert torch.equal(out.mask, batch.mask) and out.memory is None
    assert torch.all(out.states[~batch.mask] == 0)
    for b, sent in enumerate(SENTENCES):  # alone == in the padded batch
        alone = enc(batch_sequences([sent], VOCAB))
        n = len(sent)
        torch.testing.assert_close(out.states[b, :n], alone.states[0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(out.final[b], alone.final[0], atol=1e-6, rtol=1e-5)
    # the pooling, recomputed from the states
    for b, sent in enumerate(SENTENCES):
        s = out.states[b, : len(sent)]  # (n, D*H)
        if pooling == "mean":
            expected = s.mean(0)
        elif pooling == "max":
            expected = s.max(0).values
        else:  # forward state at the last real token, backward state at the first
            expected = torch.cat([s[-1, :H], s[0, H:]]) if bidirectional else s[-1]
        torch.testing.assert_close(out.final[b], expected)


@pytest.mark.parametrize("cell", ["lstm", "jordan", "esn"])
def test_encoder_inputs_path(cell):
    enc = SequenceEncoder(len(VOCAB), E, H, cell, bidirectional=True)
    batch = batch_sequences(SENTENCES, VOCAB)
    inputs = enc.embedding(batch.token_ids).detach().requires_grad_(True)  # (B, L, E)
    out = enc(batch, inputs=inputs)
    torch.testing.assert_close(out.final, enc(batch).final)
    out.final.sum().backward()
    assert inputs.grad is not None and torch.all(inputs.grad[~batch.mask] == 0)
    with pytest.raises(EncoderError, match=r"inputs must have shape \(B, L, E\)"):
        enc(batch, inputs=torch.zeros(4, 6, E + 1))


def test_encoder_argument_errors():
    with pytest.raises(EncoderError, match="choose one of.*'lstm'.*'esn'"):
        SequenceEncoder(10, E, H, cell="transformer")
    with pytest.raises(EncoderError, match="choose one of"):
        SequenceEncoder(10, E, H, pooling="attention")
    with pytest.raises(EncoderError, match="fused 'gru' takes none"):
        SequenceEncoder(10, E, H, cell="gru", cell_kwargs={"tau": 2.0})
    with pytest.raises(EncoderError, match="does not take cell_kwargs"):
        SequenceEncoder(10, E, H, cell="jordan", cell_kwargs={"tau": 2.0})
    with pytest.raises(EncoderError, match="batch_sequences"):
        SequenceEncoder(10, E, H)(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ChainError, match="tau must be >= dt"):
        LeakyRNNCell(E, H, tau=0.5)
    with pytest.raises(ChainError, match="density"):
        EchoStateCell(E, H, density=0.0)


# ---------------------------------------------------------- loop cells vs a plain loop
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("name", list(LOOP_CELLS))
def test_loop_layer_matches_plain_loop(name, num_layers, bidirectional):
    layer = make_layer(name, 3, H, num_layers, bidirectional, dtype=torch.float64)
    x, lengths = padded([4, 1, 3], 3, dtype=torch.float64)
    out, h_n = layer(x, lengths)
    D, O = layer.num_directions, layer.output_size
    assert out.shape == (3, 4, D * O)
    for b, n in enumerate(lengths.tolist()):
        ref_out, ref_finals = ref_layer(layer, x[b, :n])
        torch.testing.assert_close(out[b, :n], ref_out)
        assert torch.all(out[b, n:] == 0)
        for k, final in enumerate(ref_finals):
            if isinstance(final, tuple):
                torch.testing.assert_close(h_n[0][k, b], final[0])
                torch.testing.assert_close(h_n[1][k, b], final[1])
            else:
                torch.testing.assert_close(h_n[k, b], final)


@pytest.mark.parametrize("name", list(LOOP_CELLS))
def test_cell_forward_is_one_layer_step(name):
    layer = make_layer(name, 3, H)
    cell = layer.cells[0]
    x = torch.randn(2, 3)
    state = cell(x)  # zero state allocated by the cell
    out, _ = layer(x[:, None, :])  # (B, 1, O)
    torch.testing.assert_close(cell.output(state), out[:, 0])
    cell(x, state)  # a second step from a given state
    with pytest.raises(ChainError, match="expects input of shape"):
        cell(torch.randn(2, 4))


@pytest.mark.parametrize("name", list(LOOP_CELLS))
def test_loop_layer_gradcheck(name):
    layer = make_layer(name, 2, 2, num_layers=2, bidirectional=True, dtype=torch.float64)
    x, lengths = padded([3, 2], 2, dtype=torch.float64, garbage=False)
    x.requires_grad_(True)
    names = [n for n, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in layer.named_parameters())

    def f(x, *ps):
        out, h_n = torch.func.functional_call(layer, dict(zip(names, ps)), (x, lengths))
        return out, h_n[0] if isinstance(h_n, tuple) else h_n

    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-5)


def test_loop_layer_dropout_between_layers():
    layer = JordanRNN(3, H, num_layers=2, dropout=0.5)
    x, lengths = padded([4, 2], 3)
    assert not torch.equal(layer(x, lengths)[0], layer(x, lengths)[0])  # training: dropout on
    layer.eval()
    assert torch.equal(layer(x, lengths)[0], layer(x, lengths)[0])
    with pytest.warns(UserWarning, match="num_layers=1"):
        JordanRNN(3, H, dropout=0.5)
    assert "num_layers=2" in repr(layer) and "activation='tanh'" in repr(layer)


# --------------------------------------------------------------- degenerate settings
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_leaky_with_a_equal_one_is_elman(nonlinearity):
    leaky = LeakyRNN(3, H, num_layers=2, bidirectional=True, tau=2.0, dt=2.0,
                     nonlinearity=nonlinearity)
    assert torch.equal(leaky.cells[0].alpha, torch.ones(H))
    rnn = nn.RNN(3, H, num_layers=2, bidirectional=True, batch_first=True,
                 nonlinearity=nonlinearity)
    copy_into_fused(leaky, rnn)
    x, lengths = padded([4, 2, 3], 3)
    out, h_n = leaky(x, lengths)
    ref_out, ref_h = run_packed(rnn, x, lengths)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h_n, ref_h)


def test_peephole_lstm_with_zero_peepholes_is_lstm():
    peep = PeepholeLSTM(3, H, num_layers=2, bidirectional=True)
    with torch.no_grad():
        for cell in peep.cells:
            for w in (cell.weight_ci, cell.weight_cf, cell.weight_co):
                w.zero_()
    lstm = nn.LSTM(3, H, num_layers=2, bidirectional=True, batch_first=True)
    copy_into_fused(peep, lstm)
    x, lengths = padded([4, 2, 3], 3)
    out, (h_n, c_n) = peep(x, lengths)
    ref_out, (ref_h, ref_c) = run_packed(lstm, x, lengths)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h_n, ref_h)
    torch.testing.assert_close(c_n, ref_c)


def test_peepholes_matter():
    peep = PeepholeLSTM(3, H)
    x, lengths = padded([4], 3)
    out1, _ = peep(x, lengths)
    with torch.no_grad():
        peep.cells[0].weight_co.add_(1.0)
    out2, _ = peep(x, lengths)
    assert not torch.allclose(out1, out2)


@pytest.mark.parametrize("activation", ["tanh", "identity"])
def test_jordan_without_feedback_is_a_per_token_mlp(activation):
    jordan = JordanRNN(3, H, output_size=2, activation=activation)
    cell = jordan.cells[0]
    with torch.no_grad():
        cell.weight_yh.zero_()
    x, lengths = padded([4, 2], 3, garbage=False)
    out, _ = jordan(x, lengths)
    h = torch.tanh(x @ cell.weight_ih.t() + cell.bias_h)  # (B, L, H)
    y = ACT[activation](h @ cell.weight_hy.t() + cell.bias_y)  # (B, L, 2)
    y = y * (torch.arange(4)[None, :, None] < lengths[:, None, None])
    torch.testing.assert_close(out, y)


def test_jordan_feeds_back_the_output():
    cell = JordanRNNCell(1, 3, output_size=1, activation="identity", bias=False)
    x = torch.zeros(1, 1)
    y1 = cell(torch.ones(1, 1))
    y2 = cell(x, y1)  # zero input: only the fed-back output drives the step
    expected = cell.weight_hy @ torch.tanh(cell.weight_yh @ y1[0])
    torch.testing.assert_close(y2[0], expected)


def test_leaky_learned_time_constants():
    cell = LeakyRNNCell(3, H, tau=[1.0, 2.0, 4.0, 8.0], learn_tau=True)
    alpha = cell.alpha
    assert torch.all(alpha > 0) and torch.all(alpha <= 1)
    torch.testing.assert_close(cell.tau[1:], torch.tensor([2.0, 4.0, 8.0]))
    assert cell.tau[0] > 1.0 and cell.tau[0] < 1.01  # tau == dt starts just above dt
    cell(torch.randn(2, 3), torch.randn(2, H)).sum().backward()
    assert cell.tau_raw.grad is not None and torch.all(cell.tau_raw.grad != 0)
    with torch.no_grad():  # any raw value keeps 0 < a <= 1
        cell.tau_raw.copy_(torch.tensor([-50.0, 0.0, 5.0, 50.0]))
    assert torch.all(cell.alpha > 0) and torch.all(cell.alpha <= 1)
    fixed = LeakyRNNCell(3, H, tau=4.0)
    assert fixed.tau_raw is None and not any("tau" in n for n, _ in fixed.named_parameters())
    torch.testing.assert_close(fixed.alpha, torch.full((H,), 0.25))


# ------------------------------------------------------------------------------------ ESN
@pytest.mark.parametrize("radius, density", [(0.9, 1.0), (1.3, 0.2), (0.5, 0.05)])
def test_esn_spectral_radius(radius, density):
    cell = EchoStateCell(3, 30, spectral_radius=radius, density=density)
    got = torch.linalg.eigvals(cell.weight_hh.double()).abs().max()
    assert abs(float(got) - radius) < 1e-4
    if density < 1:
        assert float((cell.weight_hh != 0).double().mean()) < min(1.0, 3 * density)


def test_esn_only_the_readout_is_trained():
    esn = EchoStateNetwork(3, 8, num_layers=2, bidirectional=True, leak_rate=0.5)
    assert list(esn.parameters()) == []
    buffers = dict(esn.named_buffers())
    assert {"cells.0.weight_hh", "cells.0.weight_ih", "cells.0.bias"} <= set(buffers)
    assert all(not b.requires_grad for b in buffers.values())
    before = {n: b.clone() for n, b in buffers.items()}
    readout = nn.Linear(2 * 8, 2)
    opt = torch.optim.SGD(readout.parameters(), lr=0.5)
    x, lengths = padded([4, 3], 3)
    _, h_n = esn(x, lengths)
    final = torch.cat([h_n[-2], h_n[-1]], dim=1)  # (B, 2H)
    loss = nn.functional.cross_entropy(readout(final), torch.tensor([0, 1]))
    loss.backward()
    assert readout.weight.grad is not None and readout.weight.grad.abs().sum() > 0
    assert all(b.grad is None for b in esn.buffers())
    opt.step()
    for n, b in esn.named_buffers():
        assert torch.equal(b, before[n])
    # in the encoder, the reservoir adds no parameters: only the embedding is trainable
    enc = SequenceEncoder(len(VOCAB), E, H, "esn", bidirectional=True)
    assert [n for n, _ in enc.named_parameters()] == ["embedding.weight"]


def test_esn_reservoir_is_saved_and_seeded():
    a = SequenceEncoder(len(VOCAB), E, H, "esn", cell_kwargs={"seed": 1})
    b = SequenceEncoder(len(VOCAB), E, H, "esn", cell_kwargs={"seed": 2})
    batch = batch_sequences(SENTENCES, VOCAB)
    assert not torch.allclose(a(batch).final, b(batch).final)
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(a(batch).final, b(batch).final)
    w = a.rnn.cells[0].weight_hh.clone()
    a.rnn.cells[0].reset_parameters()  # a seeded reservoir redraws the same weights
    assert torch.equal(a.rnn.cells[0].weight_hh, w)


# ------------------------------------------------------------------------- classic stacks
def test_classic_encoders_shapes_and_padding_invariance():
    batch = batch_sequences(SENTENCES, VOCAB)
    encoders = [
        BiLSTMEncoder(len(VOCAB), E, H),
        BiLSTMEncoder(len(VOCAB), E, H, pooling="mean"),
        BiLSTMLSTMEncoder(len(VOCAB), E, H, top_dim=3, dropout=0.5),
        RCNNEncoder(len(VOCAB), E, H, context_dim=3),
        RCNNEncoder(len(VOCAB), E, H, cell="lstm"),
        RCNNEncoder(len(VOCAB), E, H, cell="gru"),
    ]
    for enc in encoders:
        enc.eval()
        out = enc(batch)
        assert out.states.shape == (4, 6, enc.get_output_dim())
        assert out.final.shape == (4, enc.get_output_dim())
        assert torch.all(out.states[~batch.mask] == 0)
        for b, sent in enumerate(SENTENCES):
            alone = enc(batch_sequences([sent], VOCAB))
            torch.testing.assert_close(out.states[b, : len(sent)], alone.states[0])
            torch.testing.assert_close(out.final[b], alone.final[0])
    with pytest.raises(EncoderError, match="'last' or 'mean'"):
        BiLSTMEncoder(len(VOCAB), E, H, pooling="max")


def test_bilstm_lstm_final_is_top_state_at_last_token():
    enc = BiLSTMLSTMEncoder(len(VOCAB), E, H)
    out = enc(batch_sequences(SENTENCES, VOCAB))
    for b, sent in enumerate(SENTENCES):
        torch.testing.assert_close(out.final[b], out.states[b, len(sent) - 1])


def test_rcnn_matches_plain_loop():
    enc = RCNNEncoder(len(VOCAB), E, H, context_dim=3)
    with torch.no_grad():
        enc.left_init.normal_()
        enc.right_init.normal_()
    batch = batch_sequences(SENTENCES, VOCAB)
    out = enc(batch)
    rnn = enc.context_rnn
    for b, sent in enumerate(SENTENCES):
        e = enc.embedding(batch.token_ids[b, : len(sent)])  # (n, E)
        n = len(sent)
        left, c = [enc.left_init], enc.left_init
        for i in range(n - 1):  # Lai et al. 2015, eq. 1
            c = torch.tanh(rnn.weight_hh_l0 @ c + rnn.weight_ih_l0 @ e[i]
                           + rnn.bias_ih_l0 + rnn.bias_hh_l0)
            left.append(c)
        right, c = [enc.right_init], enc.right_init
        for i in range(n - 1, 0, -1):  # eq. 2
            c = torch.tanh(rnn.weight_hh_l0_reverse @ c + rnn.weight_ih_l0_reverse @ e[i]
                           + rnn.bias_ih_l0_reverse + rnn.bias_hh_l0_reverse)
            right.append(c)
        right = right[::-1]
        ys = [torch.tanh(enc.projection(torch.cat([left[i], e[i], right[i]]))) for i in range(n)]
        ys = torch.stack(ys)  # eq. 4
        torch.testing.assert_close(out.states[b, :n], ys)
        torch.testing.assert_close(out.final[b], ys.max(0).values)  # eq. 5


# ---------------------------------------------------------------------------- helpers
def copy_into_fused(loop_layer, fused):
    """Copy a loop layer's nn.RNN-layout weights into a fused nn.RNN / nn.LSTM."""
    D = loop_layer.num_directions
    with torch.no_grad():
        for k in range(loop_layer.num_layers):
            for d in range(D):
                cell = loop_layer.cells[k * D + d]
                sfx = f"_l{k}" + ("_reverse" if d else "")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(fused, name + sfx).copy_(getattr(cell, name))


def run_packed(rnn, x, lengths):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, h = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
    return out, h


@pytest.mark.parametrize("device", DEVICES)
def test_encoders_run_on_device(device):
    batch = batch_sequences(SENTENCES, VOCAB, device=device)
    for cell in CELLS:
        enc = SequenceEncoder(len(VOCAB), E, H, cell, bidirectional=True, device=device)
        out = enc(batch)
        assert out.final.device.type == device and bool(torch.isfinite(out.final).all())


@pytest.mark.parametrize("cell", ["lstm", "jordan"])
def test_input_dropout_masks_each_token_while_training_only(cell):
    vocab = Vocab.build(SENTENCES)
    batch = batch_sequences(SENTENCES, vocab)
    torch.manual_seed(0)
    enc = SequenceEncoder(len(vocab), 6, 5, cell=cell, bidirectional=True, input_dropout=0.5)
    enc.eval()
    with torch.no_grad():
        plain = enc(batch).final
    enc.train()
    torch.manual_seed(7)
    dropped = enc(batch).final
    # the same draw on the word vectors, given as inputs (which are not dropped again)
    torch.manual_seed(7)
    x = torch.nn.functional.dropout(enc.embedding(batch.token_ids), 0.5, training=True)  # (B, L, E)
    assert x.eq(0).any() and torch.allclose(dropped, enc(batch, inputs=x).final)
    assert not torch.allclose(dropped, plain)
    enc.eval()
    with torch.no_grad():  # evaluation ignores it
        assert torch.allclose(enc(batch).final, plain)
    with pytest.raises(EncoderError, match="input_dropout"):
        SequenceEncoder(10, 6, 5, input_dropout=1.0)
