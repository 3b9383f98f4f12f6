"""Two small demonstrations of recurrent networks, called by ``treernn demo``.

- :func:`run_addition`: an Elman RNN learns binary addition bit by bit; its hidden state
  carries the carry.
- :func:`run_gradients`: exploding and vanishing products over long chains, and the
  gradient of the last step's loss with respect to earlier hidden states in an Elman RNN
  (vanishes) and an LSTM (held).

Both return a dict of plain numbers (JSON-serializable) and report progress through ``log``.
Both leave the caller's torch RNG state as it was (they run inside ``torch.random.fork_rng``).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

import torch
from torch import nn

Log = Callable[[str], None]

ADDITION_BITS = 8


@contextlib.contextmanager
def _one_cpu_thread(device: Union[str, torch.device] = "cpu") -> Iterator[None]:
    """Run on one CPU thread, then restore the thread count: these networks are so small
    that more threads only add overhead (and contend with other processes)."""
    threads = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ------------------------------------------------------------------------------- addition
class BitAdder(nn.Module):
    """An Elman RNN (``nn.RNN``, tanh) reading two bits per step, writing one sum bit per step.

    Inputs: ``bits`` (B, L, 2) float, the bits of the two numbers, least significant first.
    Outputs: logits (B, L), one per sum bit. B pairs, L steps.
    """

    def __init__(self, hidden_size: int = 16) -> None:
        super().__init__()
        self.rnn = nn.RNN(2, hidden_size, nonlinearity="tanh", batch_first=True)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, bits: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(bits)  # (B, L, H); zero initial state
        return self.out(h).squeeze(-1)  # (B, L)


def _bits(values: torch.Tensor, n: int) -> torch.Tensor:
    """(B,) integers -> (B, n) float bits, least significant first."""
    return ((values.unsqueeze(-1) >> torch.arange(n)) & 1).float()


def addition_data(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (B, 9, 2) and targets (B, 9) for 8-bit pairs ``a``, ``b``.

    Nine steps, least significant bit first: steps 0-7 read bit t of a and of b; step 8 reads
    two zeros and must output the final carry. The targets are the 9 bits of the full sum
    ``a + b`` (0..510), so nothing is lost to overflow.
    """
    steps = ADDITION_BITS + 1
    x = torch.stack([_bits(a, steps), _bits(b, steps)], dim=-1)  # (B, 9, 2); bit 8 is 0
    return x, _bits(a + b, steps)  # (B, 9)


def run_addition(
    seed: int = 0,
    epochs: int = 20,
    train_pairs: int = 4096,
    hidden_size: int = 16,
    batch_size: int = 64,
    lr: float = 0.01,
    device: Union[str, torch.device] = "cpu",
    log: Log = print,
) -> dict:
    """Train an Elman RNN to add 8-bit numbers and test it on pairs it never saw.

    The 65,536 ordered pairs (a, b) with 0 <= a, b < 256 are shuffled with ``seed``; the
    first ``train_pairs`` are the training set, all the others are the test set. The network
    reads both numbers least significant bit first and outputs the 9 bits of ``a + b`` (see
    :func:`addition_data`); it is trained with binary cross-entropy and Adam, on one CPU
    thread (restored afterwards).

    Returns:
        ``exact_match``: fraction of test pairs whose 9 sum bits are all right;
        ``bit_accuracy``: fraction of right test bits; ``train_pairs``, ``test_pairs``,
        ``epochs``, ``seconds`` (training and testing time).
    """
    if not 0 < train_pairs < 65536:
        raise ValueError(f"train_pairs must be in 1..65535, got {train_pairs}")
    start = time.perf_counter()
    with _one_cpu_thread(device):
        result = _train_adder(seed, epochs, train_pairs, hidden_size, batch_size, lr, device, log)
    result["seconds"] = time.perf_counter() - start
    log(f"addition: exact match {result['exact_match']:.4f}, bit accuracy "
        f"{result['bit_accuracy']:.4f} on {result['test_pairs']} unseen pairs "
        f"({result['seconds']:.1f} s)")
    return result


def _train_adder(seed, epochs, train_pairs, hidden_size, batch_size, lr, device, log) -> dict:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        order = torch.randperm(65536)
        a_all, b_all = order // 256, order % 256
        x_train, y_train = addition_data(a_all[:train_pairs], b_all[:train_pairs])
        x_test, y_test = addition_data(a_all[train_pairs:], b_all[train_pairs:])
        model = BitAdder(hidden_size).to(device)
        x_train, y_train = x_train.to(device), y_train.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loss_fn = nn.BCEWithLogitsLoss()
        for epoch in range(1, epochs + 1):
            model.train()
            perm = torch.randperm(train_pairs, device=device)
            total = 0.0
            for i in range(0, train_pairs, batch_size):
                idx = perm[i:i + batch_size]
                loss = loss_fn(model(x_train[idx]), y_train[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            if epoch == 1 or epoch % 10 == 0 or epoch == epochs:
                log(f"addition: epoch {epoch}/{epochs}  train loss {total / train_pairs:.4f}")
        model.eval()
        with torch.no_grad():
            pred = (model(x_test.to(device)) > 0).float().cpu()  # (B_test, 9)
    right = pred == y_test  # (B_test, 9)
    return {
        "exact_match": right.all(dim=1).float().mean().item(),
        "bit_accuracy": right.float().mean().item(),
        "train_pairs": train_pairs,
        "test_pairs": 65536 - train_pairs,
        "epochs": epochs,
    }


# ------------------------------------------------------------------------------ gradients
def repeated_product(w: float, steps: int = 1000, h0: float = 1.0) -> float:
    """``h_steps`` of the one-unit linear recurrence ``h_t = w * h_{t-1}``: ``h0 * w**steps``.

    Also the gradient ``d h_steps / d h_0``: a long chain multiplies by ``w`` at every step,
    so it explodes for ``w > 1`` and vanishes for ``w < 1``.
    """
    h = h0
    for _ in range(steps):
        h = w * h
    return h


def hidden_state_gradients(
    cell: str,
    seed: int = 0,
    hidden_size: int = 32,
    length: int = 100,
    batch_size: int = 16,
    forget_bias: float = 1.0,
) -> torch.Tensor:
    """``||d loss / d h_t||`` for t = 0..length-1, the loss taken at the last step only.

    A randomly initialized ``nn.RNNCell`` (tanh) or ``nn.LSTMCell`` (PyTorch's default
    init, uniform in +-1/sqrt(hidden_size); input size = ``hidden_size``) reads ``length``
    steps of standard normal input from a zero state; the loss is the sum of a random linear
    read-out of the last hidden state. The cells are stepped one at a time (not the fused
    ``nn.RNN``) because the gradient with respect to each intermediate hidden state is
    wanted; float64, so that the RNN's tiny gradients do not underflow to 0.

    For the LSTM the forget-gate bias is set to ``forget_bias`` (``bias_ih`` holds it,
    ``bias_hh`` is 0 for that gate); Jozefowicz et al. (2015) recommend 1 instead of
    PyTorch's small random default.

    Returns:
        (length,) float64 tensor: the gradient norm at each step, averaged over the batch.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if cell == "rnn":
            step = nn.RNNCell(hidden_size, hidden_size, nonlinearity="tanh")
        elif cell == "lstm":
            step = nn.LSTMCell(hidden_size, hidden_size)
            with torch.no_grad():  # gate order in PyTorch: input, forget, cell, output
                step.bias_ih[hidden_size:2 * hidden_size] = forget_bias
                step.bias_hh[hidden_size:2 * hidden_size] = 0.0
        else:
            raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}")
        readout = nn.Linear(hidden_size, 1)
    step, readout = step.double(), readout.double()
    x = torch.randn(length, batch_size, hidden_size, generator=gen, dtype=torch.float64)  # (L, B, H)
    h = torch.zeros(batch_size, hidden_size, dtype=torch.float64)  # (B, H)
    c = torch.zeros(batch_size, hidden_size, dtype=torch.float64)  # (B, H), LSTM memory cell
    states = []
    for t in range(length):
        if cell == "rnn":
            h = step(x[t], h)
        else:
            h, c = step(x[t], (h, c))
        h.retain_grad()
        states.append(h)
    readout(h).sum().backward()
    return torch.stack([s.grad.norm(dim=1).mean() for s in states])  # (L,)


def run_gradients(
    out_png: Optional[Union[str, Path]] = None,
    seed: int = 0,
    seeds: int = 5,
    hidden_size: int = 32,
    length: int = 100,
    forget_biases: Sequence[float] = (1.0, 3.0),
    log: Log = print,
) -> dict:
    """Exploding / vanishing products, and hidden-state gradients of an RNN vs an LSTM.

    (a) ``h_t = w * h_{t-1}`` from ``h_0 = 1`` for 1000 steps: 1 for w = 1, 1.01**1000 ~
    20,959 for w = 1.01, 0.99**1000 ~ 4.3e-5 for w = 0.99.

    (b) :func:`hidden_state_gradients` for an Elman RNN and for an LSTM with each forget-gate
    bias in ``forget_biases``, over ``seeds`` random initializations starting at ``seed``
    (geometric mean over seeds, as the norms span many orders of magnitude). A ratio is
    ``||dL/dh_0|| / ||dL/dh_{L-1}||``: how much of the gradient reaches the first step.
    With the defaults the RNN's ratio is ~3e-34 (vanished); the LSTM's is ~1e-10 with
    forget bias 1 (each step keeps about sigmoid(1) = 0.73 of the memory cell) and ~5e-2
    with forget bias 3 (sigmoid(3) = 0.95): held over 100 steps. Over this length the bias 1
    that Jozefowicz et al. (2015) recommend slows the vanishing a great deal but does not
    stop it; hence the second, larger bias.

    Args:
        out_png: write a plot of (b) there (log-scale y; needs matplotlib).

    Returns:
        ``linear``: {w: h_1000} for w = "0.99", "1.0", "1.01";
        ``rnn_grad_norms``: ``length`` floats; ``rnn_ratio``;
        ``lstm_grad_norms``, ``lstm_ratios``: the same per forget bias (keys ``str(bias)``);
        ``lstm_ratio``: the ratio of the largest forget bias;
        ``png``: the path written, or None.
    """
    if not forget_biases:
        raise ValueError("forget_biases must name at least one LSTM forget-gate bias")
    linear = {str(w): repeated_product(w) for w in (0.99, 1.0, 1.01)}
    for w, h in linear.items():
        log(f"gradients: h_1000 = {w}**1000 = {h:.6g}")

    def mean_norms(cell: str, forget_bias: float = 1.0) -> torch.Tensor:
        with _one_cpu_thread():
            runs = [hidden_state_gradients(cell, s, hidden_size, length, forget_bias=forget_bias)
                    for s in range(seed, seed + seeds)]
        return torch.stack(runs).log().mean(dim=0).exp()  # (L,), geometric mean over seeds

    norms = {"Elman RNN (tanh)": mean_norms("rnn")}
    lstm_norms, lstm_ratios = {}, {}
    for bias in forget_biases:
        n = mean_norms("lstm", bias)
        norms[f"LSTM (forget-gate bias {bias:g})"] = n
        lstm_norms[str(bias)] = n.tolist()
        lstm_ratios[str(bias)] = (n[0] / n[-1]).item()
    rnn = norms["Elman RNN (tanh)"]
    result = {
        "linear": linear,
        "rnn_grad_norms": rnn.tolist(),
        "rnn_ratio": (rnn[0] / rnn[-1]).item(),
        "lstm_grad_norms": lstm_norms,
        "lstm_ratios": lstm_ratios,
        "lstm_ratio": lstm_ratios[str(max(forget_biases))],
        "png": None,
    }
    lstm_text = ", ".join(f"LSTM forget bias {b}: {r:.3g}" for b, r in lstm_ratios.items())
    log(f"gradients: ||dL/dh_0|| / ||dL/dh_{length - 1}|| over {length} steps: "
        f"RNN {result['rnn_ratio']:.3g}; {lstm_text}")
    if out_png is not None:
        _plot_gradients(norms, Path(out_png))
        result["png"] = str(out_png)
        log(f"gradients: wrote {out_png}")
    return result


def _plot_gradients(norms: dict[str, torch.Tensor], path: Path) -> None:
    from matplotlib.figure import Figure  # a Figure of its own: no global backend switch

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, n in norms.items():
        ax.plot(range(len(n)), n.numpy(), label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("||dL/dh_t||  (L: loss at the last step)")
    ax.set_title("Gradient reaching earlier hidden states")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
