"""Tree cells: the maths of one tree level, kept apart from the traversal order.

A cell turns the states of a level's children into the states of the level's nodes. The
traversal (:mod:`treernn.encoders.tree`: native levels or DGL frontiers) gathers the children
and calls the cell once per level; the input projections run once per batch, before the
levels::

    xw = cell.project_leaf(x)                     # (n, G_leaf) leaves' W x + b
    h, c = cell.leaf(xw)                          # all leaves in one call
    xw = cell.project(x)                          # (n, G) W x + b of internal nodes
    h, c = cell.step(xw, h_kids, c_kids, mask)    # one level of internal nodes
    h, c = cell(x, h_kids, c_kids, mask)          # the same, in one call

Leaves and internal nodes have separate projections because a leaf has no children: the
Tree-LSTM leaves need no forget-gate input term, so it is never computed for them.
Internal nodes without a token (phrase-structure trees) have ``x = 0``: their projection is
:meth:`TreeCell.empty_projection` (the bias); dependency trees have inputs at every node.

Legend: n nodes of the level, K child slots, E input size, H hidden size, G and G_leaf the
widths of the projections. ``h_kids`` and ``c_kids`` are ``(n, K, H)``; child slot ``p`` holds
the child at position ``p`` (so N-ary cells read the child position from the slot); ``mask``
``(n, K)`` bool marks real children. A padded slot (a node with fewer than K children) must
hold zero states; the cells rely on that and do not read ``mask``. ``c`` is None for cells
without a memory cell.

Fast path: the Tree-LSTM cells and :class:`RecursiveCell` also give a :class:`LevelKernel`
(:meth:`TreeCell.kernel`): the same equations, written into preallocated buffers, with a
hand-derived backward pass, so the native backend needs no autograd graph per level and
computes the recurrent weight gradients in one matrix multiply over all levels. The tests
check every kernel against autograd through :meth:`TreeCell.step` and against a reference.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from treernn.errors import CellError, TreeStructureError
from treernn.nn.fused import ops_for

State = tuple[torch.Tensor, Optional[torch.Tensor]]

# Activation derivatives written into `grad_input` (one kernel each):
_sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input  # (g, y) -> g * y * (1 - y)
_tanh_backward = torch.ops.aten.tanh_backward.grad_input  # (g, y) -> g * (1 - y^2)

# PyTorch's CPU tanh is ~4.5x slower than its sigmoid on the benchmark machine (a (2000, 150)
# block: 868 us vs 190 us for the four kernels below), so the kernels take large blocks as
# tanh(x) = 2 sigmoid(2x) - 1 (float32 difference at most 2e-7). Below ~4k elements the one
# tanh kernel is cheaper than four launches (measured: equal at ~25 x 150).
_TANH_BY_SIGMOID_MIN = 4096


def _tanh(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out = tanh(x)`` (``out`` may be ``x``): the level kernels' tanh."""
    if x.device.type != "cpu" or x.numel() < _TANH_BY_SIGMOID_MIN:
        return torch.tanh(x, out=out)
    torch.mul(x, 2.0, out=out).sigmoid_()
    return out.mul_(2.0).sub_(1.0)


def binary_error(name: str) -> TreeStructureError:
    """The error a binary-only cell raises for other trees (names the fix)."""
    return TreeStructureError(
        f"{name} needs binary trees (two children per internal node, tokens only at the "
        "leaves); call tree.binarize() first (dependency trees: dependency_to_phrase())"
    )


class TreeCell(nn.Module):
    """Base of the tree cells; see the module docstring for the calling convention.

    Class attributes:
        has_memory: the cell has a memory cell ``c`` (Tree-LSTMs).
        arity: the exact number of children an internal node must have (2 for the binary
            cells), or None for any number.
        uses_internal_input: ``step`` reads ``xw`` (False for the Socher et al. cells, whose
            compositions take no input).
    """

    has_memory = False
    arity: Optional[int] = None
    uses_internal_input = True

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        if input_size <= 0 or hidden_size <= 0:
            raise CellError(
                f"{type(self).__name__}: input_size and hidden_size must be positive, "
                f"got {input_size} and {hidden_size}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size

    @property
    def projection_size(self) -> int:
        """G, the width of :meth:`project`."""
        raise NotImplementedError  # abstract

    @property
    def leaf_projection_size(self) -> int:
        """G_leaf, the width of :meth:`project_leaf`."""
        raise NotImplementedError  # abstract

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, E) -> (n, G)``: the input terms ``W x + b`` of an internal node's gates."""
        raise NotImplementedError  # abstract

    def project_leaf(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, E) -> (n, G_leaf)``: the input terms a leaf needs."""
        raise NotImplementedError  # abstract

    def empty_projection(self) -> torch.Tensor:
        """``(G,)``: :meth:`project` of a zero input (an internal node without a token)."""
        raise NotImplementedError  # abstract

    def leaf(self, xw: torch.Tensor) -> State:
        """States ``(n, H)`` of leaves from their projected inputs ``(n, G_leaf)``."""
        raise NotImplementedError  # abstract

    def step(
        self,
        xw: Optional[torch.Tensor],
        h_kids: torch.Tensor,
        c_kids: Optional[torch.Tensor],
        mask: Optional[torch.Tensor] = None,
    ) -> State:
        """States ``(n, H)`` of internal nodes from their projected inputs ``(n, G)`` (None
        allowed when not :attr:`uses_internal_input`) and their children ``(n, K, H)``."""
        raise NotImplementedError  # abstract

    def kernel(
        self, num_leaves: int, num_internal: int, like: torch.Tensor
    ) -> Optional["LevelKernel"]:
        """A :class:`LevelKernel` for a batch with these node counts (buffers like ``like``),
        or None when the cell has none (the native backend then uses autograd per level)."""
        return None

    def reset_parameters(self) -> None:
        raise NotImplementedError  # abstract

    def forward(
        self,
        x: torch.Tensor,
        h_kids: Optional[torch.Tensor] = None,
        c_kids: Optional[torch.Tensor] = None,
        mask: Optional[torch.Tensor] = None,
    ) -> State:
        """One level.

        Inputs:
            x: ``(n, E)`` inputs (zeros at internal nodes without a token).
            h_kids, c_kids: ``(n, K, H)`` children's states, or None for leaves.
            mask: ``(n, K)`` bool, True at real children (optional, see module docstring).

        Outputs: ``(h, c)``, each ``(n, H)``; ``c`` is None without a memory cell.
        """
        if h_kids is None or h_kids.size(1) == 0:
            return self.leaf(self.project_leaf(x))
        return self.step(self.project(x), h_kids, c_kids, mask)

    def _check_arity(self, h_kids: torch.Tensor) -> None:
        if self.arity is not None and h_kids.size(1) != self.arity:
            raise binary_error(type(self).__name__)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class LevelKernel:
    """A cell's forward and hand-derived backward over the levels of one batch (no autograd).

    The traversal owns the state buffers and gathers the children. Leaves are rows
    ``0:n0`` of the leaf buffers; internal level ``k = 1, 2, ...`` is the row range ``lo:hi``
    of the internal buffers (level order, internal nodes only). Forward, bottom-up::

        leaf(xw, h, c)                             # once: every leaf
        step(k, lo, hi, xw, h_kids, c_kids, h, c)  # each internal level, in order

    ``xw``: the projected inputs ``(n, G_leaf)`` / ``(n, G)`` (None for cells that read none);
    ``h_kids``, ``c_kids`` ``(n, K, H)``: freshly gathered children states (the kernel may keep
    them); ``h``, ``c`` ``(n, H)``: the views the kernel writes the states into. Backward,
    top-down::

        dh_kids, dc_kids = step_backward(k, lo, hi, dh, dc, d_xw)   # each internal level
        leaf_backward(dh, dc, d_xw)
        grads = param_grads(d_xw_internal)         # {parameter name: gradient}

    ``dh``, ``dc`` ``(n, H)``: the complete gradients of the level's states (``dc`` may be
    changed in place; None without memory); ``d_xw``: the rows of the gradient of ``xw`` the
    kernel writes (None when ``xw`` was None); ``dh_kids``, ``dc_kids`` ``(n, K, H)``: the
    gradients for the children (``dc_kids`` None without memory). ``param_grads`` gets the
    whole internal ``(N - n0, G)`` gradient of ``xw`` (or None) and returns the gradients of
    the parameters used inside the levels, each from one matrix multiply over all levels.
    Backward may run more than once.
    """

    #: The kernel runs every internal level in one call (:meth:`forward_levels`,
    #: :meth:`backward_levels`, compiled code: :mod:`treernn.nn.fused`) instead of per level.
    fused = False

    def __init__(self, cell: TreeCell, num_leaves: int, num_internal: int, like: torch.Tensor):
        self.cell = cell
        self.saved: list[tuple] = []  # per internal level (index k - 1): kept for backward
        self.grads: dict[int, tuple] = {}  # per internal level: kept for param_grads

    def leaf(self, xw, h, c) -> None:
        raise NotImplementedError  # abstract

    def step(self, k, lo, hi, xw, h_kids, c_kids, h, c) -> None:
        raise NotImplementedError  # abstract

    def step_backward(self, k, lo, hi, dh, dc, d_xw):
        raise NotImplementedError  # abstract

    def leaf_backward(self, dh, dc, d_xw) -> None:
        raise NotImplementedError  # abstract

    def param_grads(self, d_xw) -> dict[str, torch.Tensor]:
        raise NotImplementedError  # abstract

    def forward_levels(self, offsets, children, xw, h, c) -> None:
        """When :attr:`fused`: every internal level's :meth:`step`, bottom-up, in one call.
        ``offsets``: the batch's level offsets; ``children`` ``(N - n0, K)`` the children's
        rows; ``xw`` ``(N - n0, G)``; ``h``, ``c`` the whole ``(N + 1, H)`` state buffers."""
        raise NotImplementedError  # only fused kernels

    def backward_levels(self, d_h, d_c, d_xw) -> None:
        """When :attr:`fused`: every internal level's :meth:`step_backward`, top-down, in one
        call, adding the children's gradients into the whole ``(N + 1, H)`` buffers ``d_h``,
        ``d_c``; writes the ``(N - n0, G)`` gradient of ``xw``."""
        raise NotImplementedError  # only fused kernels

    def _cat(self, i: int, source: Optional[dict] = None) -> torch.Tensor:
        """Item ``i`` of every internal level, concatenated in level order."""
        if source is None:
            return torch.cat([saved[i] for saved in self.saved])
        return torch.cat([source[k][i] for k in sorted(source)])


def _uniform_(module: nn.Module, bound: float) -> None:
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


def _children_sum_init_(weight: torch.Tensor) -> None:
    """``W = [I + e1, I + e2]`` with ``e`` uniform in ``±1/(4H)`` (Socher et al.'s code,
    CoreNLP's ``RNTNModel.randomTransformMatrix``): a new parent starts as ``tanh(c1 + c2)``, so
    the words' information reaches the root of a deep tree instead of fading into the fixed
    point of a random ``tanh`` map. Leaf states should then be of order 1: with the identity
    leaf (``input_size == hidden_size``) and vectors of a large norm (PyTorch's N(0, 1)
    embeddings), the sums saturate ``tanh`` from the first levels on."""
    H = weight.size(0)
    with torch.no_grad():
        nn.init.uniform_(weight, -1.0 / (4 * H), 1.0 / (4 * H))
        weight[:, :H] += torch.eye(H, dtype=weight.dtype, device=weight.device)
        weight[:, H:] += torch.eye(H, dtype=weight.dtype, device=weight.device)


# --------------------------------------------------------------------------- Tree-LSTMs
class _TreeLSTMCell(TreeCell):
    """Shared by the Tree-LSTMs: ``weight_ih`` ``(4H, E)`` and ``bias`` ``(4H,)`` in gate order
    ``[i; o; u; f]``; a leaf uses the first three blocks only (it has no forget gate)."""

    has_memory = True

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))

    def reset_parameters(self) -> None:
        _uniform_(self, 1.0 / math.sqrt(self.hidden_size))

    @property
    def leaf_projection_size(self) -> int:
        return 3 * self.hidden_size

    def project_leaf(self, x: torch.Tensor) -> torch.Tensor:
        H3 = 3 * self.hidden_size
        return F.linear(x, self.weight_ih[:H3], self.bias[:H3])  # (n, 3H) [i, o, u] inputs

    def leaf(self, xw: torch.Tensor) -> State:
        H = self.hidden_size
        io = torch.sigmoid(xw[:, : 2 * H])  # (n, 2H)  Tai et al. 2015, eqs. 3, 5 / 9, 11
        u = torch.tanh(xw[:, 2 * H :])  # (n, H)  Tai et al. 2015, eq. 6 / 12
        c = io[:, :H] * u  # (n, H)  Tai et al. 2015, eq. 7 / 13, no children
        h = io[:, H:] * torch.tanh(c)  # (n, H)  Tai et al. 2015, eq. 8 / 14
        return h, c


class ChildSumTreeLSTMCell(_TreeLSTMCell):
    """Child-Sum Tree-LSTM (Tai et al. 2015, section 3.1, eqs. 2-8), any number of children.

    Parameters (gate blocks in this order):
        weight_ih ``(4H, E)``: ``[W_i; W_o; W_u; W_f]``; bias ``(4H,)``: ``[b_i; b_o; b_u; b_f]``.
        weight_hh_iou ``(3H, H)``: ``[U_i; U_o; U_u]``; weight_hh_f ``(H, H)``: ``U_f``.

    As in the paper: one forget gate per child, from that child's ``h_k``. Two matrix
    multiplies per level (one for i, o, u from the child sum, one for the per-child forget
    gates). Leaves are the equations with no children (``h~ = 0``, no forget term).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.weight_hh_iou = nn.Parameter(torch.empty(3 * H, H))
        self.weight_hh_f = nn.Parameter(torch.empty(H, H))
        self.reset_parameters()

    @property
    def projection_size(self) -> int:
        return 4 * self.hidden_size

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight_ih, self.bias)  # (n, 4H)  W x + b of eqs. 3-6

    def empty_projection(self) -> torch.Tensor:
        return self.bias

    def step(self, xw, h_kids, c_kids, mask=None) -> State:
        H = self.hidden_size
        h_sum = h_kids.sum(1)  # (n, H)  Tai et al. 2015, eq. 2
        iou = torch.addmm(xw[:, : 3 * H], h_sum, self.weight_hh_iou.t())  # (n, 3H) eqs. 3, 5, 6
        io = torch.sigmoid(iou[:, : 2 * H])  # (n, 2H)  Tai et al. 2015, eqs. 3, 5
        u = torch.tanh(iou[:, 2 * H :])  # (n, H)  Tai et al. 2015, eq. 6
        f = torch.sigmoid(  # (n, K, H)  Tai et al. 2015, eq. 4: one gate per child
            torch.matmul(h_kids, self.weight_hh_f.t()) + xw[:, None, 3 * H :]
        )
        c = io[:, :H] * u + (f * c_kids).sum(1)  # (n, H)  Tai et al. 2015, eq. 7
        h = io[:, H:] * torch.tanh(c)  # (n, H)  Tai et al. 2015, eq. 8
        return h, c

    def kernel(self, num_leaves, num_internal, like) -> "LevelKernel":
        return _ChildSumKernel(self, num_leaves, num_internal, like)


class NaryTreeLSTMCell(_TreeLSTMCell):
    """Binary (N = 2) N-ary Tree-LSTM (Tai et al. 2015, section 3.2, eqs. 9-14).

    Parameters (gate blocks in this order; ``U^{(f)}_{kl}`` is the forget gate of child k read
    from child l):
        weight_ih ``(4H, E)``: ``[W_i; W_o; W_u; W_f]``; bias ``(4H,)``: ``[b_i; b_o; b_u; b_f]``.
        weight_hh ``(5H, 2H)``: rows ``[i; o; f_1; f_2; u]``, columns ``[child 1 | child 2]``:
        ``U^{(i)}_l = weight_hh[0:H, (l-1)H:lH]``, ``U^{(o)}_l = weight_hh[H:2H, ...]``,
        ``U^{(f)}_{kl} = weight_hh[(1+k)H:(2+k)H, (l-1)H:lH]``,
        ``U^{(u)}_l = weight_hh[4H:5H, ...]``.

    As in the paper, with full per-pair forget matrices ``U^{(f)}_{kl}`` and the input term
    ``W^{(f)} x_j + b^{(f)}`` shared by both forget gates (eq. 10); unlike DGL's Tree-LSTM
    example nothing is left out. All five gates of a level come from one matrix multiply
    ``[h_1; h_2] @ weight_hh^T``. Leaves are the equations with zero children states.
    Only binary trees: a node with another number of children raises an error naming
    ``binarize``.
    """

    arity = 2

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.weight_hh = nn.Parameter(torch.empty(5 * H, 2 * H))
        self.reset_parameters()

    @property
    def projection_size(self) -> int:
        return 5 * self.hidden_size

    def _expand(self, xw: torch.Tensor) -> torch.Tensor:
        # [i, o, u, f] -> [i, o, f, f, u]: W^(f) x_j + b^(f) serves both forget gates (eq. 10)
        H = self.hidden_size
        i_o, u, f = xw[..., : 2 * H], xw[..., 2 * H : 3 * H], xw[..., 3 * H :]
        return torch.cat([i_o, f, f, u], -1)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return self._expand(F.linear(x, self.weight_ih, self.bias))  # (n, 5H) eqs. 9-12

    def empty_projection(self) -> torch.Tensor:
        return self._expand(self.bias)

    def step(self, xw, h_kids, c_kids, mask=None) -> State:
        self._check_arity(h_kids)
        H = self.hidden_size
        n = h_kids.size(0)
        gates = torch.addmm(xw, h_kids.reshape(n, 2 * H), self.weight_hh.t())  # (n, 5H) 9-12
        sig = torch.sigmoid(gates[:, : 4 * H])  # (n, 4H) i, o, f_1, f_2: eqs. 9, 11, 10
        u = torch.tanh(gates[:, 4 * H :])  # (n, H)  Tai et al. 2015, eq. 12
        f = sig[:, 2 * H :].view(n, 2, H)  # (n, 2, H) f_j1, f_j2
        c = sig[:, :H] * u + (f * c_kids).sum(1)  # (n, H)  Tai et al. 2015, eq. 13
        h = sig[:, H : 2 * H] * torch.tanh(c)  # (n, H)  Tai et al. 2015, eq. 14
        return h, c

    def kernel(self, num_leaves, num_internal, like) -> "LevelKernel":
        return _NaryKernel(self, num_leaves, num_internal, like)


class _LSTMKernel(LevelKernel):
    """Shared by the Tree-LSTM kernels: leaves, and the output equations ``c = i * u + ...``,
    ``h = o * tanh(c)`` with their backward, on activation rows whose first 2H columns are
    ``i, o`` (after the sigmoid) and whose columns ``u_cols`` are ``u`` (after the tanh)."""

    u_cols: slice  # where u is in the internal activation rows

    def __init__(self, cell, num_leaves, num_internal, like, width):
        super().__init__(cell, num_leaves, num_internal, like)
        H = cell.hidden_size
        self.ops = ops_for(like, cell.weight_ih)  # the compiled level loops, or None
        self.leaf_act = like.new_empty(num_leaves, 3 * H)  # (n0, 3H) [i, o, u]
        self.leaf_tanh_c = like.new_empty(num_leaves, H)  # (n0, H)
        self.act = like.new_empty(num_internal, width)  # (N - n0, G') internal, level order
        self.tanh_c = like.new_empty(num_internal, H)  # (N - n0, H)

    @property
    def fused(self) -> bool:
        return self.ops is not None

    def _output(self, a, tanh_c, c, h):
        _tanh(c, out=tanh_c)
        H = self.cell.hidden_size
        torch.mul(a[:, H : 2 * H], tanh_c, out=h)  # h = o * tanh(c)  Tai et al. eqs. 8 / 14

    def _output_backward(self, a, tanh_c, u_cols, dh, dc, d_xw, sigmoids: bool = True):
        # d_xw's i, o, u columns := gradients of their pre-activations; dc += dL/dc through h.
        # sigmoids=False leaves i, o at dL/di, dL/do (the caller runs the sigmoid backward).
        H = self.cell.hidden_size
        u = a[:, u_cols]
        d_tanh_c = dh * a[:, H : 2 * H]  # dL/dtanh(c) = dh * o
        dc.add_(_tanh_backward(d_tanh_c, tanh_c, grad_input=d_tanh_c))
        torch.mul(dc, u, out=d_xw[:, :H])  # dL/di = dc * u
        torch.mul(dh, tanh_c, out=d_xw[:, H : 2 * H])  # dL/do = dh * tanh(c)
        d_u = d_xw[:, u_cols]
        torch.mul(dc, a[:, :H], out=d_u)  # dL/du = dc * i
        if sigmoids:
            _sigmoid_backward(d_xw[:, : 2 * H], a[:, : 2 * H], grad_input=d_xw[:, : 2 * H])
        _tanh_backward(d_u, u, grad_input=d_u)

    def leaf(self, xw, h, c):
        H, a = self.cell.hidden_size, self.leaf_act
        torch.sigmoid(xw[:, : 2 * H], out=a[:, : 2 * H])  # i, o  Tai et al. eqs. 3, 5 / 9, 11
        _tanh(xw[:, 2 * H :], out=a[:, 2 * H :])  # u  Tai et al. eqs. 6 / 12
        torch.mul(a[:, :H], a[:, 2 * H :], out=c)  # c = i * u, no children: eqs. 7 / 13
        self._output(a, self.leaf_tanh_c, c, h)

    def leaf_backward(self, dh, dc, d_xw):
        H = self.cell.hidden_size
        self._output_backward(self.leaf_act, self.leaf_tanh_c, slice(2 * H, 3 * H), dh, dc, d_xw)


class _ChildSumKernel(_LSTMKernel):
    """:class:`ChildSumTreeLSTMCell` (Tai et al. 2015, eqs. 2-8), hand-derived backward.
    Internal activation columns ``[i, o, u]``; the per-child forget gates are kept per level."""

    def __init__(self, cell, num_leaves, num_internal, like):
        H = cell.hidden_size
        self.u_cols = slice(2 * H, 3 * H)
        super().__init__(cell, num_leaves, num_internal, like, 3 * H)
        self.u_iou = cell.weight_hh_iou.detach()  # (3H, H)
        self.u_f = cell.weight_hh_f.detach()  # (H, H)

    def forward_levels(self, offsets, children, xw, h, c):
        # csrc/tree_lstm_levels.cpp: step()'s maths for every level; the children's h, their
        # sums and the forget gates in (N - n0) K and N - n0 row buffers, level order, that
        # backward_levels and param_grads read whole.
        H, K = self.cell.hidden_size, children.size(1)
        Ni = self.act.size(0)
        self.f, self.h_kids = h.new_empty(Ni * K, H), h.new_empty(Ni * K, H)  # (Ni K, H)
        self.h_sum = h.new_empty(Ni, H)  # (Ni, H)
        self.c, self.children, self.offsets = c, children.contiguous(), list(offsets)
        if xw.stride(1) != 1:
            xw = xw.contiguous()
        self.ops.child_sum_forward(h, c, xw, self.u_iou.t(), self.u_f.t(), self.children, self.offsets,
                                   self.act, self.f, self.tanh_c, self.h_kids, self.h_sum)

    def backward_levels(self, d_h, d_c, d_xw):
        self.d_f = torch.empty_like(self.f)  # (Ni K, H)
        self.ops.child_sum_backward(d_h, d_c, d_xw, self.d_f, self.act, self.f, self.tanh_c, self.c,
                                    self.u_iou, self.u_f, self.children, self.offsets)

    def step(self, k, lo, hi, xw, h_kids, c_kids, h, c):
        H = self.cell.hidden_size
        a = self.act[lo:hi]  # (n, 3H)
        h_sum = h_kids.sum(1)  # (n, H)  Tai et al. 2015, eq. 2
        torch.addmm(xw[:, : 3 * H], h_sum, self.u_iou.t(), out=a)  # (n, 3H) eqs. 3, 5, 6
        a[:, : 2 * H].sigmoid_()  # i, o  Tai et al. 2015, eqs. 3, 5
        _tanh(a[:, 2 * H :], out=a[:, 2 * H :])  # u  Tai et al. 2015, eq. 6
        f = torch.matmul(h_kids, self.u_f.t())  # (n, K, H)  U_f h_k
        f.add_(xw[:, None, 3 * H :]).sigmoid_()  # (n, K, H)  Tai et al. 2015, eq. 4
        torch.mul(a[:, :H], a[:, 2 * H :], out=c)  # i * u
        c.add_((f * c_kids).sum(1))  # + sum_k f_k * c_k  Tai et al. 2015, eq. 7
        self._output(a, self.tanh_c[lo:hi], c, h)  # Tai et al. 2015, eq. 8
        self.saved.append((h_kids, c_kids, f, h_sum))

    def step_backward(self, k, lo, hi, dh, dc, d_xw):
        H = self.cell.hidden_size
        h_kids, c_kids, f, _ = self.saved[k - 1]
        self._output_backward(self.act[lo:hi], self.tanh_c[lo:hi], self.u_cols, dh, dc, d_xw)
        dc_col = dc[:, None]  # (n, 1, H)
        d_f = _sigmoid_backward(dc_col * c_kids, f, grad_input=torch.empty_like(f))  # (n, K, H)
        torch.sum(d_f, 1, out=d_xw[:, 3 * H :])  # W_f x + b_f is shared by all children
        dh_sum = torch.mm(d_xw[:, : 3 * H], self.u_iou)  # (n, H)
        dh_kids = torch.matmul(d_f, self.u_f).add_(dh_sum[:, None])  # (n, K, H)
        self.grads[k] = (d_f,)
        return dh_kids, dc_col * f  # (n, K, H) each

    def param_grads(self, d_xw):
        H = self.cell.hidden_size
        if self.fused and d_xw is not None and d_xw.size(0):
            return {"weight_hh_iou": torch.mm(d_xw[:, : 3 * H].t(), self.h_sum),  # (3H, H)
                    "weight_hh_f": torch.mm(self.d_f.t(), self.h_kids)}  # (H, H)
        if not self.saved:
            return {}
        h_sum = self._cat(3)  # (N - n0, H)
        h_kids = self._cat(0).flatten(0, 1)  # ((N - n0) * K, H)
        d_f = self._cat(0, self.grads).flatten(0, 1)  # ((N - n0) * K, H)
        return {
            "weight_hh_iou": torch.mm(d_xw[:, : 3 * H].t(), h_sum),  # (3H, H)
            "weight_hh_f": torch.mm(d_f.t(), h_kids),  # (H, H)
        }


class _NaryKernel(_LSTMKernel):
    """:class:`NaryTreeLSTMCell` (Tai et al. 2015, eqs. 9-14), hand-derived backward.
    Internal activation columns ``[i, o, f_1, f_2, u]``, the order of ``weight_hh``'s rows, so
    the gradient of ``xw`` is the gradient of the gate pre-activations."""

    def __init__(self, cell, num_leaves, num_internal, like):
        H = cell.hidden_size
        self.u_cols = slice(4 * H, 5 * H)
        super().__init__(cell, num_leaves, num_internal, like, 5 * H)
        self.u_hh = cell.weight_hh.detach()  # (5H, 2H)
        self.u_hh_t = self.u_hh.t()  # (2H, 5H)

    def forward_levels(self, offsets, children, xw, h, c):
        # csrc/tree_lstm_levels.cpp: step()'s maths for every level; the children's h are gathered
        # into one (N - n0, 2H) buffer, level order, that param_grads reads whole.
        self.h_cat = h.new_empty(self.act.size(0), 2 * self.cell.hidden_size)  # (N - n0, 2H)
        self.c, self.children, self.offsets = c, children.reshape(-1).contiguous(), list(offsets)
        self.ops.nary_forward(h, c, xw, self.u_hh_t, self.children, self.offsets, self.act,
                              self.tanh_c, self.h_cat)

    def backward_levels(self, d_h, d_c, d_xw):
        self.ops.nary_backward(d_h, d_c, d_xw, self.act, self.tanh_c, self.c, self.u_hh,
                               self.children, self.offsets)

    def step(self, k, lo, hi, xw, h_kids, c_kids, h, c):
        # (binary trees: checked once per batch by the encoder)
        H, n = self.cell.hidden_size, hi - lo
        h_cat = h_kids.view(n, 2 * H)  # (n, 2H)  [h_j1; h_j2]
        a = self.act[lo:hi]  # (n, 5H)
        torch.addmm(xw, h_cat, self.u_hh_t, out=a)  # (n, 5H)  Tai et al. 2015, eqs. 9-12
        a[:, : 4 * H].sigmoid_()  # i, o, f_1, f_2  Tai et al. 2015, eqs. 9, 11, 10
        _tanh(a[:, 4 * H :], out=a[:, 4 * H :])  # u  Tai et al. 2015, eq. 12
        torch.mul(a[:, :H], a[:, 4 * H :], out=c)  # i * u
        c.addcmul_(a[:, 2 * H : 3 * H], c_kids[:, 0])  # + f_j1 c_j1  Tai et al. 2015, eq. 13
        c.addcmul_(a[:, 3 * H : 4 * H], c_kids[:, 1])  # + f_j2 c_j2
        self._output(a, self.tanh_c[lo:hi], c, h)  # Tai et al. 2015, eq. 14
        self.saved.append((h_cat, c_kids))

    def step_backward(self, k, lo, hi, dh, dc, d_xw):
        H, n = self.cell.hidden_size, hi - lo
        _, c_kids = self.saved[k - 1]
        a = self.act[lo:hi]
        self._output_backward(a, self.tanh_c[lo:hi], self.u_cols, dh, dc, d_xw, sigmoids=False)
        f = a[:, 2 * H : 4 * H].view(n, 2, H)  # (n, 2, H)
        dc_col = dc[:, None]  # (n, 1, H)
        torch.mul(dc_col, c_kids, out=d_xw[:, 2 * H : 4 * H].view(n, 2, H))  # dL/df_jk = dc_j c_jk
        d_sig = d_xw[:, : 4 * H]  # i, o, f_1, f_2: one sigmoid backward
        _sigmoid_backward(d_sig, a[:, : 4 * H], grad_input=d_sig)
        dh_kids = torch.mm(d_xw, self.u_hh).view(n, 2, H)  # (n, 2, H)
        return dh_kids, dc_col * f  # (n, 2, H) each

    def param_grads(self, d_xw):
        if self.fused and d_xw is not None and d_xw.size(0):
            return {"weight_hh": torch.mm(d_xw.t(), self.h_cat)}  # (5H, 2H), as below
        if not self.saved:
            return {}
        # (5H, N - n0) @ (N - n0, 2H): contiguous, as gradient clipping's and AdaGrad's fused
        # kernels want it. (The transposed form, (h_cat^T d_xw)^T, multiplies ~3% faster on one
        # thread, but left a transposed gradient that clipping and AdaGrad then copied and scaled
        # element by element: 0.7 ms a step at B = 25 on two threads.)
        return {"weight_hh": torch.mm(d_xw.t(), self._cat(0))}  # (5H, 2H)


# --------------------------------------------------------------------------- Socher et al.
class _SocherCell(TreeCell):
    """Shared parts of the Socher et al. cells: leaves and the binary check.

    Leaves: the word vector is the leaf state, as in the papers, when ``input_size ==
    hidden_size`` (``h = x``); otherwise (a deviation, needed to read e.g. 300-d vectors into
    a smaller state) a leaf transform ``h = tanh(W_leaf x + b_leaf)``.
    Internal nodes take no input (the papers' compositions have none).
    """

    arity = 2
    uses_internal_input = False

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        if input_size != hidden_size:
            self.weight_leaf = nn.Parameter(torch.empty(hidden_size, input_size))
            self.bias_leaf = nn.Parameter(torch.empty(hidden_size))
        else:
            self.register_parameter("weight_leaf", None)
            self.register_parameter("bias_leaf", None)

    @property
    def projection_size(self) -> int:
        return self.hidden_size

    @property
    def leaf_projection_size(self) -> int:
        return self.hidden_size

    def project_leaf(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight_leaf is None:
            return x  # (n, H) the word vector itself
        return F.linear(x, self.weight_leaf, self.bias_leaf)  # (n, H)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.size(0), self.hidden_size)  # (n, H) unused: no internal input

    def empty_projection(self) -> torch.Tensor:
        return self.bias.new_zeros(self.hidden_size)  # (H,) unused: no internal input

    def leaf(self, xw: torch.Tensor) -> State:
        return (xw if self.weight_leaf is None else torch.tanh(xw)), None

    def extra_repr(self) -> str:
        leaf = "identity" if self.weight_leaf is None else "tanh(W_leaf x + b_leaf)"
        return super().extra_repr() + f", leaf={leaf}"


class RecursiveCell(_SocherCell):
    """The recursive neural network composition (Socher et al. 2011): ``p = tanh(W[c1; c2] + b)``.

    Parameters: weight ``(H, 2H)``, bias ``(H,)`` (and the leaf transform, see
    :class:`_SocherCell`). Binary trees only. ``W`` starts as ``[I, I]`` plus small noise and
    ``b`` at zero, as in Socher et al.'s code (see :func:`_children_sum_init_`); the leaf
    transform uniformly in ``±1/sqrt(H)``.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.weight = nn.Parameter(torch.empty(H, 2 * H))
        self.bias = nn.Parameter(torch.empty(H))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_(self, 1.0 / math.sqrt(self.hidden_size))
        _children_sum_init_(self.weight)
        nn.init.zeros_(self.bias)

    def step(self, xw, h_kids, c_kids=None, mask=None) -> State:
        self._check_arity(h_kids)
        n = h_kids.size(0)
        z = h_kids.reshape(n, 2 * self.hidden_size)  # (n, 2H)  [c1; c2]
        return torch.tanh(torch.addmm(self.bias, z, self.weight.t())), None  # Socher et al. 2011

    def kernel(self, num_leaves, num_internal, like) -> "LevelKernel":
        return _RecursiveKernel(self, num_leaves, num_internal, like)


class _RecursiveKernel(LevelKernel):
    """:class:`RecursiveCell` (Socher et al. 2011) with a hand-derived backward."""

    def __init__(self, cell, num_leaves, num_internal, like):
        super().__init__(cell, num_leaves, num_internal, like)
        self.weight = cell.weight.detach()  # (H, 2H)
        self.bias = cell.bias.detach()  # (H,)
        self.leaf_h: Optional[torch.Tensor] = None

    def leaf(self, xw, h, c):
        if self.cell.weight_leaf is None:
            h.copy_(xw)  # h = x, the word vector
        else:
            _tanh(xw, out=h)  # h = tanh(W_leaf x + b_leaf)
        self.leaf_h = h

    def step(self, k, lo, hi, xw, h_kids, c_kids, h, c):
        z = h_kids.view(hi - lo, -1)  # (n, 2H)  [c1; c2]
        _tanh(torch.addmm(self.bias, z, self.weight.t(), out=h), out=h)  # Socher et al. 2011
        self.saved.append((z, h))

    def step_backward(self, k, lo, hi, dh, dc, d_xw):
        z, h = self.saved[k - 1]
        d_pre = _tanh_backward(dh, h, grad_input=torch.empty_like(dh))  # (n, H)
        self.grads[k] = (d_pre,)
        return torch.mm(d_pre, self.weight).view(hi - lo, 2, -1), None  # (n, 2, H)

    def leaf_backward(self, dh, dc, d_xw):
        if self.cell.weight_leaf is None:
            d_xw.copy_(dh)
        else:
            _tanh_backward(dh, self.leaf_h, grad_input=d_xw)

    def param_grads(self, d_xw):
        if not self.saved:
            return {}
        d_pre = self._cat(0, self.grads)  # (N - n0, H)
        return {"weight": torch.mm(d_pre.t(), self._cat(0)), "bias": d_pre.sum(0)}


class RNTNCell(_SocherCell):
    """The recursive neural tensor network (Socher et al. 2013, eq. 2):
    ``p = tanh([c1; c2]^T V^{[1:H]} [c1; c2] + W [c1; c2] + b)``.

    Parameters: weight_v ``(H, 2H, 2H)`` (slice ``k`` is ``V^{[k]}``), weight ``(H, 2H)``,
    bias ``(H,)`` (and the leaf transform, see :class:`_SocherCell`). Binary trees only.
    ``V`` is initialized uniformly in ``±1/(2H)`` (small, so the quadratic term does not
    saturate tanh at the start), ``W`` as ``[I, I]`` plus small noise and ``b`` at zero (as
    in Socher et al.'s code, see :func:`_children_sum_init_`), the leaf transform in
    ``±1/sqrt(H)``. No level kernel: the
    native backend differentiates it with autograd per level.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.weight_v = nn.Parameter(torch.empty(H, 2 * H, 2 * H))
        self.weight = nn.Parameter(torch.empty(H, 2 * H))
        self.bias = nn.Parameter(torch.empty(H))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_(self, 1.0 / math.sqrt(self.hidden_size))
        nn.init.uniform_(self.weight_v, -0.5 / self.hidden_size, 0.5 / self.hidden_size)
        _children_sum_init_(self.weight)
        nn.init.zeros_(self.bias)

    def step(self, xw, h_kids, c_kids=None, mask=None) -> State:
        self._check_arity(h_kids)
        n = h_kids.size(0)
        z = h_kids.reshape(n, 2 * self.hidden_size)  # (n, 2H)  [c1; c2]
        # z^T V^[k] z for every k (Socher et al. 2013, eq. 2) as one matmul and a row-wise dot:
        # (n, 2H) @ (2H, H*2H) -> (n, H, 2H), times z, summed. F.bilinear computes the same but
        # its backward runs thousands of small bmm calls (25x slower training on SST).
        H2 = 2 * self.hidden_size
        zv = torch.mm(z, self.weight_v.permute(1, 0, 2).reshape(H2, -1)).view(n, -1, H2)  # (n, H, 2H)
        quad = torch.einsum("nkj,nj->nk", zv, z)  # (n, H)
        return torch.tanh(torch.addmm(quad + self.bias, z, self.weight.t())), None  # eq. 2


TREE_CELLS: dict[str, type[TreeCell]] = {
    "nary-tree-lstm": NaryTreeLSTMCell,
    "child-sum-tree-lstm": ChildSumTreeLSTMCell,
    "rnn": RecursiveCell,
    "rntn": RNTNCell,
}
