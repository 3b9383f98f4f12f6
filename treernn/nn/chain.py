"""Recurrent cells that PyTorch lacks, and layers that run them over padded batches.

The Elman RNN (tanh/relu), the LSTM and the GRU are *not* here: use the fused ``nn.RNN``,
``nn.LSTM`` and ``nn.GRU`` (as :class:`treernn.encoders.sequence.SequenceEncoder` does).

Each cell (``*Cell``) computes one step and keeps its maths in two methods, so the layer can
do the input projection for all time steps at once:

* ``project_input(x)``: the part that depends only on the input, ``(..., E) -> (..., G)``;
* ``step(x_proj, state)``: one recurrence step from the projected input.

``cell(x, hx=None)`` does both for a single step, like ``nn.LSTMCell``; it allocates the zero
state when ``hx`` is None.

Each layer (``JordanRNN``, ``PeepholeLSTM``, ``LeakyRNN``, ``EchoStateNetwork``) runs its cell
over a padded batch ``(B, L, E)`` with lengths ``(B,)``, stacked (``num_layers``) and optionally
bidirectional, like ``nn.RNN(batch_first=True)`` on a packed batch: a padded step leaves the
state unchanged and writes zeros to the output; the reverse direction reads each sentence
reversed within its own length.

Legend: B sentences, L sequence length, D directions (1 or 2), E input size, H hidden size,
O output size of one direction (H, or the Jordan output size), G projected-input size.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from treernn.errors import ChainError

State = Union[Tensor, tuple[Tensor, ...]]


def _check_positive_int(name: str, value: int, owner: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ChainError(f"{owner}: {name} must be a positive int, got {value!r}")


_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "identity": lambda t: t,
}


def _activation(name: str, owner: str, allowed: Sequence[str]) -> Callable[[Tensor], Tensor]:
    if name not in allowed:
        raise ChainError(f"{owner}: unknown activation {name!r}; choose one of {list(allowed)}")
    return _ACTIVATIONS[name]


# --------------------------------------------------------------------------------- cells
class ChainCellBase(nn.Module):
    """The shared part of the cells: sizes, zero state, ``forward = step(project_input(x))``.

    Subclasses set ``input_size``, ``hidden_size`` and ``output_size`` (O: the size of what a
    step outputs and what the next layer reads) and implement ``project_input``, ``step`` and,
    for a tuple state, ``init_state`` and ``output``.
    """

    input_size: int
    hidden_size: int
    output_size: int

    def init_state(self, batch_size: int, device=None, dtype=None) -> State:
        """The zero state of ``batch_size`` sequences: ``(B, O)``."""
        return torch.zeros(batch_size, self.output_size, device=device, dtype=dtype)

    def output(self, state: State) -> Tensor:
        """What a step outputs, ``(B, O)``, given the new state."""
        return state  # type: ignore[return-value]

    def project_input(self, input: Tensor) -> Tensor:
        raise NotImplementedError  # abstract

    def step(self, x_proj: Tensor, state: State) -> State:
        raise NotImplementedError  # abstract

    def forward(self, input: Tensor, hx: Optional[State] = None) -> State:
        """One step.

        Inputs: input, hx
            - input ``(B, E)``
            - hx: the previous state (see the subclass), zeros when None.

        Outputs: the new state (see the subclass).
        """
        if input.dim() != 2 or input.size(1) != self.input_size:
            raise ChainError(
                f"{type(self).__name__} expects input of shape (B, {self.input_size}), "
                f"got {tuple(input.shape)}; for a whole sequence use the layer"
            )
        if hx is None:
            hx = self.init_state(input.size(0), device=input.device, dtype=input.dtype)
        return self.step(self.project_input(input), hx)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class JordanRNNCell(ChainCellBase):
    r"""One step of a Jordan network: the previous *output* is fed back.

    Jordan (1986), "Serial order: a parallel distributed processing approach", ICS Report 8604;
    Jordan (1997), in *Neural-Network Models of Cognition*, Adv. in Psychology 121:

    .. math::
        h_t = \tanh(W x_t + U y_{t-1} + b) \qquad y_t = \phi(V h_t + c)

    The state carried between steps is the output :math:`y` (size O), not :math:`h`.

    Deviation from Jordan (1986): the state units there also decay into themselves
    (:math:`s_t = \mu s_{t-1} + y_{t-1}`); here :math:`\mu = 0`, the usual modern form.

    Args:
        input_size: E.
        hidden_size: H, the size of :math:`h`.
        output_size: O, the size of :math:`y` (default: H).
        activation: :math:`\phi`: ``'tanh'`` (default), ``'sigmoid'`` (Jordan's logistic
            units), ``'relu'`` or ``'identity'``.
        bias: learn :math:`b` and :math:`c`.

    Inputs: input, y
        - input ``(B, E)``; y ``(B, O)`` the previous output (zeros when None).

    Outputs: y'
        - y' ``(B, O)``.

    Weights:
        weight_ih: W ``(H, E)``; weight_yh: U ``(H, O)``; bias_h: b ``(H,)``;
        weight_hy: V ``(O, H)``; bias_y: c ``(O,)``. All start at
        :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`, as in ``nn.RNN``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: Optional[int] = None,
        activation: str = "tanh",
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        output_size = hidden_size if output_size is None else output_size
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("output_size", output_size)):
            _check_positive_int(name, value, "JordanRNNCell")
        self.act = _activation(activation, "JordanRNNCell", ("tanh", "sigmoid", "relu", "identity"))
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.activation, self.bias = activation, bias
        fk = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **fk))
        self.weight_yh = nn.Parameter(torch.empty(hidden_size, output_size, **fk))
        self.weight_hy = nn.Parameter(torch.empty(output_size, hidden_size, **fk))
        if bias:
            self.bias_h = nn.Parameter(torch.empty(hidden_size, **fk))
            self.bias_y = nn.Parameter(torch.empty(output_size, **fk))
        else:
            self.register_parameter("bias_h", None)
            self.register_parameter("bias_y", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -k, k)

    def project_input(self, input: Tensor) -> Tensor:
        return nn.functional.linear(input, self.weight_ih, self.bias_h)  # W x_t + b, (..., H)

    def step(self, x_proj: Tensor, state: State) -> Tensor:
        y_prev: Tensor = state  # type: ignore[assignment]  # (B, O)
        h = torch.tanh(x_proj + y_prev @ self.weight_yh.t())  # Jordan: h_t, (B, H)
        return self.act(nn.functional.linear(h, self.weight_hy, self.bias_y))  # y_t, (B, O)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, output_size={self.output_size}"
        s += f", activation={self.activation!r}"
        return s if self.bias else s + ", bias=False"


class PeepholeLSTMCell(ChainCellBase):
    r"""One step of an LSTM with peephole connections.

    Gers & Schmidhuber (2000), "Recurrent nets that time and count", IJCNN; equations as in
    Graves (2013), "Generating sequences with recurrent neural networks", eqs. 7-11:

    .. math::
        i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + w_{ci} \odot c_{t-1} + b_i) \\
        f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + w_{cf} \odot c_{t-1} + b_f) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot \tanh(W_{xc} x_t + W_{hc} h_{t-1} + b_c) \\
        o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + w_{co} \odot c_t + b_o) \\
        h_t &= o_t \odot \tanh(c_t)

    The peephole weights are diagonal (vectors), as in Graves (2013); the output gate peeks at
    the *new* cell :math:`c_t`. The other weights use ``nn.LSTM``'s layout and gate order
    (i, f, g, o), so with zero peephole weights the cell equals ``nn.LSTMCell``.

    Args:
        input_size: E. hidden_size: H. bias: learn ``bias_ih`` and ``bias_hh``.

    Inputs: input, (h, c)
        - input ``(B, E)``; h, c ``(B, H)`` (zeros when None).

    Outputs: (h', c')
        - h', c' ``(B, H)``.

    Weights:
        weight_ih ``(4H, E)``, weight_hh ``(4H, H)``, bias_ih, bias_hh ``(4H,)`` (as in
        ``nn.LSTM``); weight_ci, weight_cf, weight_co ``(H,)`` the peepholes. All start at
        :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        _check_positive_int("input_size", input_size, "PeepholeLSTMCell")
        _check_positive_int("hidden_size", hidden_size, "PeepholeLSTMCell")
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.bias = bias
        fk = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **fk))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **fk))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size, **fk))
            self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size, **fk))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.weight_ci = nn.Parameter(torch.empty(hidden_size, **fk))
        self.weight_cf = nn.Parameter(torch.empty(hidden_size, **fk))
        self.weight_co = nn.Parameter(torch.empty(hidden_size, **fk))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -k, k)

    def init_state(self, batch_size: int, device=None, dtype=None) -> tuple[Tensor, Tensor]:
        z = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)
        return z, z.clone()

    def output(self, state: State) -> Tensor:
        return state[0]

    def project_input(self, input: Tensor) -> Tensor:
        x_proj = nn.functional.linear(input, self.weight_ih, self.bias_ih)  # (..., 4H)
        return x_proj if self.bias_hh is None else x_proj + self.bias_hh

    def step(self, x_proj: Tensor, state: State) -> tuple[Tensor, Tensor]:
        h, c = state  # (B, H) each
        gates = x_proj + h @ self.weight_hh.t()  # (B, 4H)
        g_i, g_f, g_c, g_o = gates.chunk(4, dim=1)  # (B, H) each
        i = torch.sigmoid(g_i + self.weight_ci * c)  # Graves 2013, eq. 7
        f = torch.sigmoid(g_f + self.weight_cf * c)  # eq. 8
        c_new = f * c + i * torch.tanh(g_c)  # eq. 9
        o = torch.sigmoid(g_o + self.weight_co * c_new)  # eq. 10
        h_new = o * torch.tanh(c_new)  # eq. 11
        return h_new, c_new

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"


def _inverse_softplus(y: Tensor) -> Tensor:
    return y + torch.log(-torch.expm1(-y))  # softplus(result) == y, for y > 0


class LeakyRNNCell(ChainCellBase):
    r"""One step of a leaky-integrator (continuous-time, Euler-discretised) RNN.

    .. math::
        h_t = (1 - a) \odot h_{t-1} + a \odot \phi(W x_t + U h_{t-1} + b),
        \qquad a = \Delta t / \tau

    with one time constant :math:`\tau` per unit (fixed or learned). See e.g. Jaeger et al.
    (2007), "Optimization and applications of echo state networks with leaky-integrator
    neurons", Neural Networks 20(3), eq. 4; with :math:`a = 1` it is the Elman RNN.

    Learned time constants are parametrised as :math:`\tau = \Delta t + \mathrm{softplus}(\rho)`,
    which keeps :math:`0 < a < 1` (never exactly 1, so a learned :math:`\tau` starting at
    :math:`\Delta t` starts at :math:`\Delta t (1 + 10^{-3})`). Fixed time constants must satisfy
    :math:`\tau \ge \Delta t`, so :math:`0 < a \le 1`.

    Args:
        input_size: E. hidden_size: H.
        tau: :math:`\tau`, one float for all units or H floats (default 1.0, i.e. Elman).
        dt: :math:`\Delta t` (default 1.0).
        learn_tau: learn the time constants (default: fixed, kept in a buffer).
        nonlinearity: :math:`\phi`, ``'tanh'`` or ``'relu'``.
        bias: learn ``bias_ih`` and ``bias_hh``.

    Inputs: input, h
        - input ``(B, E)``; h ``(B, H)`` (zeros when None).

    Outputs: h'
        - h' ``(B, H)``.

    Weights:
        weight_ih ``(H, E)``, weight_hh ``(H, H)``, bias_ih, bias_hh ``(H,)`` (as in ``nn.RNN``,
        :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`); tau_init ``(H,)`` (buffer);
        tau_raw ``(H,)`` :math:`\rho` (a parameter, only with ``learn_tau``);
        ``tau`` and ``alpha`` (properties) the current :math:`\tau` and :math:`a`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        tau: Union[float, Sequence[float], Tensor] = 1.0,
        dt: float = 1.0,
        learn_tau: bool = False,
        nonlinearity: str = "tanh",
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _check_positive_int("input_size", input_size, "LeakyRNNCell")
        _check_positive_int("hidden_size", hidden_size, "LeakyRNNCell")
        self.act = _activation(nonlinearity, "LeakyRNNCell", ("tanh", "relu"))
        if not dt > 0:
            raise ChainError(f"LeakyRNNCell: dt must be > 0, got {dt!r}")
        tau_t = torch.as_tensor(tau, dtype=torch.float64).flatten()
        if tau_t.numel() == 1:
            tau_t = tau_t.expand(hidden_size)
        if tau_t.numel() != hidden_size:
            raise ChainError(
                f"LeakyRNNCell: tau needs 1 or hidden_size={hidden_size} values, "
                f"got {tau_t.numel()}"
            )
        if not bool((tau_t >= dt).all()):
            raise ChainError(
                f"LeakyRNNCell: every tau must be >= dt={dt} so that a = dt/tau lies in (0, 1]; "
                f"got min tau {float(tau_t.min())}"
            )
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.nonlinearity, self.dt, self.learn_tau = nonlinearity, float(dt), learn_tau
        self.bias = bias
        fk = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **fk))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **fk))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(hidden_size, **fk))
            self.bias_hh = nn.Parameter(torch.empty(hidden_size, **fk))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.register_buffer("tau_init", torch.empty(hidden_size, **fk))
        with torch.no_grad():
            self.tau_init.copy_(tau_t)
        if learn_tau:
            self.tau_raw = nn.Parameter(torch.empty(hidden_size, **fk))
        else:
            self.register_parameter("tau_raw", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            if p is not None:
                nn.init.uniform_(p, -k, k)
        if self.tau_raw is not None:
            with torch.no_grad():
                offset = (self.tau_init - self.dt).clamp_min(1e-3 * self.dt)  # tau - dt > 0
                self.tau_raw.copy_(_inverse_softplus(offset))

    @property
    def tau(self) -> Tensor:
        """The time constants :math:`\\tau`, ``(H,)``."""
        if self.tau_raw is None:
            return self.tau_init
        return self.dt + nn.functional.softplus(self.tau_raw)

    @property
    def alpha(self) -> Tensor:
        """The leak rates :math:`a = \\Delta t / \\tau` in (0, 1], ``(H,)``."""
        return self.dt / self.tau

    def project_input(self, input: Tensor) -> Tensor:
        x_proj = nn.functional.linear(input, self.weight_ih, self.bias_ih)  # W x_t + b, (..., H)
        return x_proj if self.bias_hh is None else x_proj + self.bias_hh

    def step(self, x_proj: Tensor, state: State) -> Tensor:
        h: Tensor = state  # type: ignore[assignment]  # (B, H)
        a = self.alpha  # (H,)
        return (1 - a) * h + a * self.act(x_proj + h @ self.weight_hh.t())  # (B, H)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, dt={self.dt}, learn_tau={self.learn_tau}"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s if self.bias else s + ", bias=False"


class EchoStateCell(ChainCellBase):
    r"""One step of an echo-state network reservoir (fixed random weights; nothing learned).

    Jaeger (2001), "The 'echo state' approach to analysing and training recurrent neural
    networks", GMD Report 148; with the leak rate of Jaeger et al. (2007), eq. 4:

    .. math::
        x_t = (1 - a)\, x_{t-1} + a \tanh(W_{in} u_t + W x_{t-1} + b)

    :math:`W` is drawn from :math:`\mathcal{U}(-1, 1)`, a fraction ``1 - density`` of its
    entries is set to zero, and it is rescaled once (with ``torch.linalg.eigvals``) to the
    spectral radius ``spectral_radius``; :math:`W_{in} \sim \mathcal{U}(-s, s)` with
    ``s = input_scaling``; :math:`b \sim \mathcal{U}(-\beta, \beta)` with ``beta = bias_scaling``.
    All three are buffers (saved in the ``state_dict``, ``requires_grad=False``): only a readout
    on top of the states (e.g. the model's head) is trained. Deviation from Jaeger (2001): no
    feedback from the readout into the reservoir.

    Args:
        input_size: E. hidden_size: H, the number of reservoir units.
        spectral_radius: the largest absolute eigenvalue of :math:`W` (default 0.9).
        density: the fraction of nonzero entries of :math:`W`, in (0, 1] (default 1.0).
        leak_rate: :math:`a` in (0, 1] (default 1.0: no leak).
        input_scaling, bias_scaling: see above (defaults 1.0 and 0.0).
        seed: seed of the reservoir's random numbers (default: torch's global generator);
            with a seed, ``reset_parameters()`` redraws the same reservoir.

    Inputs: input, x
        - input ``(B, E)``; x ``(B, H)`` (zeros when None).

    Outputs: x'
        - x' ``(B, H)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        spectral_radius: float = 0.9,
        density: float = 1.0,
        leak_rate: float = 1.0,
        input_scaling: float = 1.0,
        bias_scaling: float = 0.0,
        seed: Optional[int] = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _check_positive_int("input_size", input_size, "EchoStateCell")
        _check_positive_int("hidden_size", hidden_size, "EchoStateCell")
        if not spectral_radius > 0:
            raise ChainError(f"EchoStateCell: spectral_radius must be > 0, got {spectral_radius!r}")
        if not 0 < density <= 1:
            raise ChainError(f"EchoStateCell: density must be in (0, 1], got {density!r}")
        if not 0 < leak_rate <= 1:
            raise ChainError(f"EchoStateCell: leak_rate must be in (0, 1], got {leak_rate!r}")
        if input_scaling < 0 or bias_scaling < 0:
            raise ChainError("EchoStateCell: input_scaling and bias_scaling must be >= 0")
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.spectral_radius, self.density, self.leak_rate = spectral_radius, density, leak_rate
        self.input_scaling, self.bias_scaling, self.seed = input_scaling, bias_scaling, seed
        fk = {"device": device, "dtype": dtype}
        self.register_buffer("weight_ih", torch.empty(hidden_size, input_size, **fk))
        self.register_buffer("weight_hh", torch.empty(hidden_size, hidden_size, **fk))
        self.register_buffer("bias", torch.empty(hidden_size, **fk))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Draw a new reservoir (drawn on the CPU in float64, then copied into the buffers)."""
        gen = None
        if self.seed is not None:
            gen = torch.Generator().manual_seed(self.seed)
        H, E = self.hidden_size, self.input_size
        for _ in range(100):
            w = torch.rand(H, H, generator=gen, dtype=torch.float64) * 2 - 1  # U(-1, 1), (H, H)
            if self.density < 1:
                w = w * (torch.rand(H, H, generator=gen, dtype=torch.float64) < self.density)
            radius = torch.linalg.eigvals(w).abs().max()  # once, at init
            if radius > 1e-8:
                break
        else:
            raise ChainError(
                f"EchoStateCell: every reservoir drawn with density={self.density} and "
                f"hidden_size={H} has spectral radius 0; raise density or hidden_size"
            )
        self.weight_hh.copy_(w * (self.spectral_radius / radius))  # Jaeger 2001: rescale W
        w_in = torch.rand(H, E, generator=gen, dtype=torch.float64) * 2 - 1  # (H, E)
        self.weight_ih.copy_(w_in * self.input_scaling)
        b = torch.rand(H, generator=gen, dtype=torch.float64) * 2 - 1  # (H,)
        self.bias.copy_(b * self.bias_scaling)

    def project_input(self, input: Tensor) -> Tensor:
        return nn.functional.linear(input, self.weight_ih, self.bias)  # W_in u_t + b, (..., H)

    def step(self, x_proj: Tensor, state: State) -> Tensor:
        x: Tensor = state  # type: ignore[assignment]  # (B, H)
        a = self.leak_rate
        return (1 - a) * x + a * torch.tanh(x_proj + x @ self.weight_hh.t())  # Jaeger 2007, eq. 4

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, spectral_radius={self.spectral_radius}, "
            f"density={self.density}, leak_rate={self.leak_rate}, "
            f"input_scaling={self.input_scaling}, bias_scaling={self.bias_scaling}, "
            f"seed={self.seed}"
        )


# -------------------------------------------------------------------------------- layers
def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence of a padded batch within its own length; padding stays put.

    Inputs: x ``(B, L, *)``, lengths ``(B,)`` on x's device. Outputs: ``(B, L, *)``.
    Applying it twice gives x back.
    """
    B, L = x.shape[:2]
    t = torch.arange(L, device=x.device)[None, :]  # (1, L)
    lens = lengths[:, None]  # (B, 1)
    idx = torch.where(t < lens, lens - 1 - t, t)  # (B, L)
    idx = idx.view(B, L, *([1] * (x.dim() - 2))).expand_as(x)  # (B, L, *)
    return x.gather(1, idx)


class ChainRNNBase(nn.Module):
    """The shared part of the loop layers: stacking, directions, masking, dropout.

    ``self.cells[layer * D + direction]`` is the cell of one layer and direction; the cells of
    layer ``k > 0`` read the D * O outputs of layer ``k - 1``. Always batch-first.
    """

    def __init__(
        self,
        make_cell: Callable[[int], ChainCellBase],
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        _check_positive_int("input_size", input_size, name)
        _check_positive_int("hidden_size", hidden_size, name)
        _check_positive_int("num_layers", num_layers, name)
        if not 0 <= dropout < 1:
            raise ChainError(f"{name}: dropout must be in [0, 1), got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(  # as nn.RNN does
                f"{name}: dropout acts between stacked layers only, so dropout={dropout} does "
                f"nothing with num_layers=1", stacklevel=3)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bidirectional, self.dropout = num_layers, bidirectional, dropout
        self.num_directions = 2 if bidirectional else 1
        cells: list[ChainCellBase] = []
        layer_input = input_size
        for _ in range(num_layers):
            for _ in range(self.num_directions):
                cells.append(make_cell(layer_input))
            layer_input = self.num_directions * cells[-1].output_size
        self.cells = nn.ModuleList(cells)
        self.output_size = cells[0].output_size  # O, per direction

    def reset_parameters(self) -> None:
        for cell in self.cells:
            cell.reset_parameters()  # type: ignore[operator]

    def _run_direction(self, cell: ChainCellBase, x: Tensor, mask: Tensor) -> tuple[Tensor, State]:
        """Run ``cell`` left to right over ``x`` ``(B, L, E)``; ``mask`` ``(B, L, 1)``."""
        B, L = x.shape[:2]
        x_proj = cell.project_input(x)  # (B, L, G), all steps at once
        state = cell.init_state(B, device=x.device, dtype=x.dtype)
        outputs = []
        for t in range(L):
            new = cell.step(x_proj[:, t], state)
            keep = mask[:, t]  # (B, 1): a padded step leaves the state unchanged
            if isinstance(new, tuple):
                state = tuple(torch.where(keep, n, s) for n, s in zip(new, state))
            else:
                state = torch.where(keep, new, state)  # type: ignore[arg-type]
            outputs.append(cell.output(state) * keep)  # (B, O), zeros at padding
        return torch.stack(outputs, dim=1), state  # (B, L, O)

    def forward(self, input: Tensor, lengths: Optional[Tensor] = None) -> tuple[Tensor, State]:
        """Run the layer over a padded batch.

        Inputs: input, lengths
            - input ``(B, L, E)``, batch first; values at padding are ignored.
            - lengths ``(B,)`` long, any device, each in [1, L] (default: all L).

        Outputs: output, h_n
            - output ``(B, L, D*O)``: the last layer's outputs, both directions concatenated
              (forward first); zeros at padding.
            - h_n ``(num_layers*D, B, O)``: each layer's and direction's final state (the
              forward direction's at the last real token, the backward one's at the first), in
              ``nn.RNN``'s order; for :class:`PeepholeLSTM` the tuple ``(h_n, c_n)``.
        """
        if input.dim() != 3 or input.size(2) != self.input_size:
            raise ChainError(
                f"{type(self).__name__} expects input of shape (B, L, {self.input_size}) "
                f"(batch first), got {tuple(input.shape)}"
            )
        B, L = input.shape[:2]
        if lengths is None:
            lengths = torch.full((B,), L, dtype=torch.long, device=input.device)
        if lengths.shape != (B,):
            raise ChainError(f"lengths must have shape ({B},), got {tuple(lengths.shape)}")
        lengths = lengths.to(input.device)
        steps = torch.arange(L, device=input.device)  # (L,)
        mask = (steps[None, :] < lengths[:, None])[..., None]  # (B, L, 1)
        finals: list[State] = []
        x = input
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = nn.functional.dropout(x, self.dropout, training=True)  # between layers
            outs = []
            for direction in range(self.num_directions):
                cell = self.cells[layer * self.num_directions + direction]
                if direction == 0:
                    out, state = self._run_direction(cell, x, mask)  # (B, L, O)
                else:
                    out, state = self._run_direction(cell, reverse_padded(x, lengths), mask)
                    out = reverse_padded(out, lengths)  # back to sentence order, (B, L, O)
                outs.append(out)
                finals.append(state)
            x = torch.cat(outs, dim=2) if len(outs) > 1 else outs[0]  # (B, L, D*O)
        if isinstance(finals[0], tuple):
            h_n: State = tuple(torch.stack(parts, 0) for parts in zip(*finals))  # (layers*D, B, O)
        else:
            h_n = torch.stack(finals, 0)  # type: ignore[arg-type]  # (layers*D, B, O)
        return x, h_n

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s


class JordanRNN(ChainRNNBase):
    """A (stacked, optionally bidirectional) Jordan network; see :class:`JordanRNNCell`.

    Args: input_size, hidden_size, num_layers, bidirectional, dropout (between layers), and
    the cell's ``output_size`` (O, default H), ``activation``, ``bias``.
    Inputs/Outputs: see :meth:`ChainRNNBase.forward`; h_n holds the final outputs y.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, *,
                 output_size: Optional[int] = None, activation: str = "tanh", bias: bool = True,
                 device=None, dtype=None) -> None:
        def make_cell(e: int) -> ChainCellBase:
            return JordanRNNCell(e, hidden_size, output_size, activation, bias, device, dtype)

        super().__init__(make_cell, input_size, hidden_size, num_layers, bidirectional, dropout)


class PeepholeLSTM(ChainRNNBase):
    """A (stacked, optionally bidirectional) peephole LSTM; see :class:`PeepholeLSTMCell`.

    Inputs/Outputs: see :meth:`ChainRNNBase.forward`; h_n is the tuple ``(h_n, c_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, *, bias: bool = True,
                 device=None, dtype=None) -> None:
        def make_cell(e: int) -> ChainCellBase:
            return PeepholeLSTMCell(e, hidden_size, bias, device, dtype)

        super().__init__(make_cell, input_size, hidden_size, num_layers, bidirectional, dropout)


class LeakyRNN(ChainRNNBase):
    """A (stacked, optionally bidirectional) leaky-integrator RNN; see :class:`LeakyRNNCell`.

    Args: as the cell's (``tau``, ``dt``, ``learn_tau``, ``nonlinearity``, ``bias``), shared
    by every layer and direction, plus num_layers, bidirectional, dropout.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, *,
                 tau: Union[float, Sequence[float], Tensor] = 1.0, dt: float = 1.0,
                 learn_tau: bool = False, nonlinearity: str = "tanh", bias: bool = True,
                 device=None, dtype=None) -> None:
        def make_cell(e: int) -> ChainCellBase:
            return LeakyRNNCell(e, hidden_size, tau, dt, learn_tau, nonlinearity, bias,
                                device, dtype)

        super().__init__(make_cell, input_size, hidden_size, num_layers, bidirectional, dropout)


class EchoStateNetwork(ChainRNNBase):
    """(Stacked, optionally bidirectional) echo-state reservoirs; see :class:`EchoStateCell`.

    Has no parameters: train a readout on its outputs. Each layer and direction draws its own
    reservoir; with ``seed`` the one of cell ``k`` (``self.cells[k]``) uses ``seed + k``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, *,
                 spectral_radius: float = 0.9, density: float = 1.0, leak_rate: float = 1.0,
                 input_scaling: float = 1.0, bias_scaling: float = 0.0,
                 seed: Optional[int] = None, device=None, dtype=None) -> None:
        counter = iter(range(1 << 30))

        def make_cell(e: int) -> ChainCellBase:
            k = next(counter)
            return EchoStateCell(e, hidden_size, spectral_radius, density, leak_rate,
                                 input_scaling, bias_scaling,
                                 None if seed is None else seed + k, device, dtype)

        super().__init__(make_cell, input_size, hidden_size, num_layers, bidirectional, dropout)
