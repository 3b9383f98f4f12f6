"""Tree encoders: a tree cell run bottom-up over a :class:`~treernn.batching.TreeBatch`.

Two backends share the cell maths of :mod:`treernn.nn.tree_cells` and differ only in the
traversal:

- ``native`` (:func:`native_propagate`): pure PyTorch. One step per tree level (height):
  gather the level's children states, one batched cell call, write the level's states. All
  leaves go in one call. The level's nodes are a contiguous slice of the level-ordered state
  buffer (see :class:`TreeBatch`), so a level writes its slice in place, no per-node Python.
  Training uses a custom autograd function: the forward records a small autograd graph per
  level on detached inputs and the backward walks the levels top-down, adding each level's
  child gradients into a gradient buffer at the children's rows. This avoids what plain
  autograd over a growing state buffer costs: a copy of the whole buffer per level in the
  backward pass.
- ``dgl`` (:func:`dgl_propagate`): the batch as one DGL graph with edges child -> parent,
  propagated frontier by frontier in topological order (``dgl.prop_nodes`` over the levels,
  which are exactly DGL's topological frontiers), children gathered by the built-in
  ``u_mul_e`` / ``sum`` message functions. Slower; kept as a cross-check and for users of
  DGL graphs.

Legend: B trees, N nodes in the batch, K the largest number of children, E input size,
H hidden size, G the cell's input projection size.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from treernn._dgl import import_dgl
from treernn.batching.tree import TreeBatch
from treernn.encoders.base import Encoder, EncoderOutput
from treernn.nn.tree_cells import TREE_CELLS, TreeCell, binary_error

BACKENDS = ("native", "dgl")

States = tuple[torch.Tensor, Optional[torch.Tensor]]


# --------------------------------------------------------------------------- native backend
def _gather_kids(batch: TreeBatch, k: int, buf: torch.Tensor) -> torch.Tensor:
    """The states ``(n, K, H)`` of the children of level ``k``'s nodes, from a level-order
    buffer ``(N + 1, H)`` whose last row (a missing child) is zero."""
    n0 = batch.num_leaves
    lo, hi = batch.level_offsets[k] - n0, batch.level_offsets[k + 1] - n0
    flat = batch.level_children[lo:hi].reshape(-1)  # (n * K,) slots
    return buf.index_select(0, flat).view(hi - lo, batch.max_arity, buf.size(1))  # (n, K, H)


def _scatter_kids(batch: TreeBatch, k: int, buf: torch.Tensor, grad: torch.Tensor) -> None:
    """Adds the children's gradients ``(n, K, H)`` of level ``k`` into ``buf`` ``(N + 1, H)``."""
    n0 = batch.num_leaves
    lo, hi = batch.level_offsets[k] - n0, batch.level_offsets[k + 1] - n0
    flat = batch.level_children[lo:hi].reshape(-1)  # (n * K,) slots, each real one once
    buf.index_add_(0, flat, grad.reshape(-1, buf.size(1)))  # (n * K, H)


def _node_order(buf: Optional[torch.Tensor], batch: TreeBatch) -> Optional[torch.Tensor]:
    return None if buf is None else buf.index_select(0, batch.slot)  # (N, H) node order


def _grad_buffer(grad: Optional[torch.Tensor], batch: TreeBatch, like: torch.Tensor):
    """``(N + 1, H)`` level-order gradient buffer from a node-order gradient ``(N, H)``."""
    buf = like.new_zeros(batch.num_nodes + 1, like.size(1))
    if grad is not None:
        buf.index_copy_(0, batch.slot, grad)  # buf[slot[i]] = grad[i]
    return buf


def _kernel_forward(kernel, cell: TreeCell, batch: TreeBatch, xw: torch.Tensor):
    """The level loop with a :class:`LevelKernel`; level-order state buffers ``(N + 1, H)``
    (the last row, a missing child, stays zero)."""
    N, H, offsets = batch.num_nodes, cell.hidden_size, batch.level_offsets
    h = xw.new_zeros(N + 1, H)
    c = xw.new_zeros(N + 1, H) if cell.has_memory else None
    n0 = batch.num_leaves
    kernel.leaf(xw[:n0], h[:n0], None if c is None else c[:n0])  # all leaves in one call
    for k in range(1, batch.num_levels):
        lo, hi = offsets[k], offsets[k + 1]
        h_kids = _gather_kids(batch, k, h)  # (n, K, H)
        c_kids = None if c is None else _gather_kids(batch, k, c)  # (n, K, H)
        kernel.step(k, lo, hi, xw[lo:hi], h_kids, c_kids, h[lo:hi], None if c is None else c[lo:hi])
    return h, c


class _KernelLevels(torch.autograd.Function):
    """Autograd for :func:`native_propagate` with a cell's :class:`LevelKernel`."""

    @staticmethod
    def forward(ctx, cell, batch, names, xw, *params):
        kernel = cell.kernel(batch.num_nodes, xw)
        h, c = _kernel_forward(kernel, cell, batch, xw)
        ctx.kernel, ctx.batch, ctx.names, ctx.xw_shape = kernel, batch, names, xw.shape
        if c is None:
            return _node_order(h, batch)
        return _node_order(h, batch), _node_order(c, batch)

    @staticmethod
    @once_differentiable
    def backward(ctx, dh, dc=None):
        kernel, batch = ctx.kernel, ctx.batch
        offsets, n0 = batch.level_offsets, batch.num_leaves
        d_h = _grad_buffer(dh, batch, dh)  # (N + 1, H) level order
        d_c = None if not kernel.cell.has_memory else _grad_buffer(dc, batch, dh)
        d_xw = dh.new_empty(ctx.xw_shape)  # (N, G) level order, every row written below
        for k in range(batch.num_levels - 1, 0, -1):
            lo, hi = offsets[k], offsets[k + 1]
            dc_k = None if d_c is None else d_c[lo:hi]
            dh_kids, dc_kids = kernel.step_backward(k, lo, hi, d_h[lo:hi], dc_k, d_xw[lo:hi])
            _scatter_kids(batch, k, d_h, dh_kids)
            if dc_kids is not None:
                _scatter_kids(batch, k, d_c, dc_kids)
        kernel.leaf_backward(d_h[:n0], None if d_c is None else d_c[:n0], d_xw[:n0])
        grads = kernel.param_grads(d_xw)
        return (None, None, None, d_xw, *(grads.get(name) for name in ctx.names))


def _autograd_forward(cell: TreeCell, batch: TreeBatch, xw: torch.Tensor, record: bool):
    """The level loop with the cell's autograd maths. Returns level-order state buffers
    ``(N + 1, H)`` (the last row, a missing child, stays zero) and, when ``record``, per level
    the ``(inputs, outputs)`` of an autograd graph built on detached inputs."""
    N, H, offsets = batch.num_nodes, cell.hidden_size, batch.level_offsets
    h_buf = xw.new_zeros(N + 1, H)
    c_buf = xw.new_zeros(N + 1, H) if cell.has_memory else None
    levels = []
    with torch.set_grad_enabled(record):
        for k in range(batch.num_levels):
            lo, hi = offsets[k], offsets[k + 1]
            x = xw[lo:hi]  # (n, G) a view: a level's slots are contiguous
            if record:
                x = x.detach().requires_grad_()
            if k == 0:
                inputs = (x,)
                h, c = cell.leaf(x)  # (n, H) all leaves in one call
            else:
                h_kids = _gather_kids(batch, k, h_buf)  # (n, K, H)
                c_kids = None if c_buf is None else _gather_kids(batch, k, c_buf)
                inputs = (x, h_kids) if c_kids is None else (x, h_kids, c_kids)
                if record:
                    for t in inputs[1:]:
                        t.requires_grad_()
                mask = batch.level_child_mask[lo - batch.num_leaves : hi - batch.num_leaves]
                h, c = cell.step(x, h_kids, c_kids, mask)
            h_buf[lo:hi] = h.detach()  # (n, H) into the level's slice
            if c_buf is not None:
                c_buf[lo:hi] = c.detach()
            if record:
                levels.append((inputs, (h,) if c is None else (h, c)))
    return h_buf, c_buf, levels


class _AutogradLevels(torch.autograd.Function):
    """Autograd for :func:`native_propagate` without a kernel: the backward walks the levels
    top-down, differentiating each level's small graph and adding the children's gradients
    into a gradient buffer at their rows (plain autograd over a growing state buffer would copy
    the whole buffer once per level)."""

    @staticmethod
    def forward(ctx, cell, batch, names, xw, *params):
        h, c, levels = _autograd_forward(cell, batch, xw, record=True)
        ctx.batch, ctx.levels, ctx.params, ctx.xw_shape = batch, levels, params, xw.shape
        if c is None:
            return _node_order(h, batch)
        return _node_order(h, batch), _node_order(c, batch)

    @staticmethod
    @once_differentiable
    def backward(ctx, dh, dc=None):
        batch, levels, params = ctx.batch, ctx.levels, ctx.params
        offsets = batch.level_offsets
        d_h = _grad_buffer(dh, batch, dh)  # (N + 1, H) level order
        d_c = _grad_buffer(dc, batch, dh) if len(levels[0][1]) > 1 else None
        d_xw = dh.new_zeros(ctx.xw_shape)  # (N, G) level order
        wanted = [i for i, p in enumerate(params) if p.requires_grad]
        d_params: list[Optional[torch.Tensor]] = [None] * len(params)
        for k in range(len(levels) - 1, -1, -1):
            lo, hi = offsets[k], offsets[k + 1]
            inputs, outputs = levels[k]
            d_out = (d_h[lo:hi],) if d_c is None else (d_h[lo:hi], d_c[lo:hi])
            got = torch.autograd.grad(  # retain_graph: backward may run again (gradcheck)
                outputs,
                inputs + tuple(params[i] for i in wanted),
                d_out,
                allow_unused=True,
                retain_graph=True,
            )
            if got[0] is not None:
                d_xw[lo:hi] = got[0]
            if k > 0:
                if got[1] is not None:
                    _scatter_kids(batch, k, d_h, got[1])
                if d_c is not None and got[2] is not None:
                    _scatter_kids(batch, k, d_c, got[2])
            for i, g in zip(wanted, got[len(inputs) :]):
                if g is not None:
                    d_params[i] = g if d_params[i] is None else d_params[i] + g
        return (None, None, None, d_xw, *d_params)


def native_propagate(
    cell: TreeCell, batch: TreeBatch, xw: torch.Tensor, use_kernel: bool = True
) -> States:
    """Runs ``cell`` bottom-up over ``batch``, one step per level, in pure PyTorch.

    Inputs:
        xw: ``(N, G)`` the cell's input projection of every node, **in level order**
            (``xw[j]`` belongs to node ``batch.order[j]``).
        use_kernel: use the cell's :class:`LevelKernel` when it has one (hand-derived
            backward, the fast path); False forces autograd through :meth:`TreeCell.step`.

    Outputs: ``(h, c)``, each ``(N, H)`` in node order; ``c`` is None for cells without a
    memory cell. Differentiable once (no double backward).
    """
    names, params = zip(*cell.named_parameters())
    kernel = use_kernel and type(cell).kernel is not TreeCell.kernel
    needs_grad = torch.is_grad_enabled() and (
        xw.requires_grad or any(p.requires_grad for p in params)
    )
    if needs_grad:
        function = _KernelLevels if kernel else _AutogradLevels
        out = function.apply(cell, batch, names, xw, *params)
        return (out[0], out[1]) if cell.has_memory else (out, None)
    with torch.no_grad():
        if kernel:
            h, c = _kernel_forward(cell.kernel(batch.num_nodes, xw), cell, batch, xw)
        else:
            h, c, _ = _autograd_forward(cell, batch, xw, record=False)
    return _node_order(h, batch), _node_order(c, batch)


# --------------------------------------------------------------------------- DGL backend
def dgl_propagate(cell: TreeCell, batch: TreeBatch, xw: torch.Tensor) -> States:
    """Runs ``cell`` over ``batch`` as a DGL graph (edges child -> parent), frontier by
    frontier in topological order, with plain autograd.

    Inputs:
        xw: ``(N, G)`` the cell's input projection of every node, **in node order**.

    Outputs: ``(h, c)``, each ``(N, H)`` in node order; ``c`` is None without memory.
    """
    dgl = import_dgl(xw.device)
    import dgl.function as fn

    N, H, K = batch.num_nodes, cell.hidden_size, batch.max_arity
    leaves = batch.order[: batch.num_leaves]  # (n0,) node ids of level 0
    h, c = cell.leaf(xw.index_select(0, leaves))  # all leaves in one call
    state = h if c is None else torch.cat([h, c], 1)  # (n0, S), S = H or 2H
    if batch.num_levels == 1:
        s = state.new_zeros(N, state.size(1)).index_copy(0, leaves, state)  # (N, S)
        return s[:, :H], (None if c is None else s[:, H:])

    g = dgl.graph((batch.edge_src, batch.edge_dst), num_nodes=N, device=xw.device)
    g.create_formats_()  # once, not lazily inside every frontier's in_edges lookup
    # (N, 1, S): node state; u_mul_e with the (E, K, 1) one-hot child position puts each
    # child's state in its slot, and sum gives the parent its (K, S) children in order.
    g.ndata["s"] = state.new_zeros(N, state.size(1)).index_copy(0, leaves, state).unsqueeze(1)
    g.ndata["xw"] = xw
    arity = torch.bincount(batch.edge_dst, minlength=N)  # (N,)
    g.ndata["mask"] = torch.arange(K, device=xw.device) < arity[:, None]  # (N, K)
    g.edata["slot"] = F.one_hot(batch.edge_pos, K).to(xw.dtype).unsqueeze(-1)  # (E, K, 1)

    def apply(nodes):
        kids = nodes.data["kids"]  # (n, K, S)
        c_kids = kids[..., H:] if cell.has_memory else None
        h, c = cell.step(nodes.data["xw"], kids[..., :H], c_kids, nodes.data["mask"])
        return {"s": (h if c is None else torch.cat([h, c], 1)).unsqueeze(1)}  # (n, 1, S)

    offsets = batch.level_offsets
    frontiers = [batch.order[offsets[k] : offsets[k + 1]] for k in range(1, batch.num_levels)]
    dgl.prop_nodes(g, frontiers, fn.u_mul_e("s", "slot", "m"), fn.sum("m", "kids"), apply)
    s = g.ndata["s"].squeeze(1)  # (N, S)
    return s[:, :H], (s[:, H:] if cell.has_memory else None)


# --------------------------------------------------------------------------- encoder
class TreeEncoder(Encoder):
    """A tree-structured encoder: word embeddings at the token nodes, a tree cell bottom-up.

    Args:
        vocab_size, input_dim: the embedding table (``input_dim`` = E; row ``padding_idx``
            is the PAD vector).
        hidden_dim: H, the state size.
        cell: one of ``nary-tree-lstm`` (binary Tree-LSTM, Tai et al. 2015),
            ``child-sum-tree-lstm`` (Tai et al. 2015), ``rnn`` (Socher et al. 2011),
            ``rntn`` (Socher et al. 2013). ``nary-tree-lstm``, ``rnn`` and ``rntn`` need
            binary trees (``Tree.binarize()``).
        backend: ``native`` (pure PyTorch, fast, any device) or ``dgl``.

    Nodes without a token (internal nodes of phrase-structure trees) take no input (x = 0).
    The encoder allocates its own zero states.
    """

    def __init__(
        self,
        vocab_size: int,
        input_dim: int,
        hidden_dim: int,
        cell: str = "nary-tree-lstm",
        backend: str = "native",
        padding_idx: int = 0,
    ) -> None:
        super().__init__()
        if cell not in TREE_CELLS:
            raise ValueError(f"unknown tree cell {cell!r}; known cells: {', '.join(TREE_CELLS)}")
        if backend not in BACKENDS:
            raise ValueError(f"unknown tree backend {backend!r}; known backends: {', '.join(BACKENDS)}")
        if backend == "dgl":
            import_dgl()  # fail now, not at the first batch
        self.cell_name = cell
        self.backend = backend
        self.embedding = nn.Embedding(vocab_size, input_dim, padding_idx=padding_idx)
        self.cell = TREE_CELLS[cell](input_dim, hidden_dim)

    def get_input_dim(self) -> int:
        return self.cell.input_size

    def get_output_dim(self) -> int:
        return self.cell.hidden_size

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        self.cell.reset_parameters()

    def extra_repr(self) -> str:
        return f"cell={self.cell_name!r}, backend={self.backend!r}"

    def _projected_inputs(self, batch: TreeBatch, inputs: Optional[torch.Tensor]) -> torch.Tensor:
        """``(N, G)``: the cell's input projection of every node, in level order."""
        cell = self.cell
        N, T = batch.num_nodes, batch.num_tokens
        if inputs is None:
            x = self.embedding(batch.slot_token_ids)  # (T, E)
        else:
            if inputs.dim() != 2 or inputs.size(0) != N or inputs.size(1) != cell.input_size:
                raise ValueError(
                    f"inputs must be (N, E) = ({N}, {cell.input_size}), "
                    f"got {tuple(inputs.shape)}"
                )
            x = inputs.index_select(0, batch.order.index_select(0, batch.token_slots))  # (T, E)
        xw = cell.project(x)  # (T, G) one matrix multiply for every input
        if T == N:
            return xw
        empty = cell.empty_projection()  # (G,)
        if batch.tokens_first:  # phrase-structure trees: tokens are slots 0:T
            return torch.cat([xw, empty.expand(N - T, xw.size(1))])  # (N, G)
        return empty.expand(N, xw.size(1)).index_copy(0, batch.token_slots, xw)  # (N, G)

    def forward(self, batch: TreeBatch, inputs: Optional[torch.Tensor] = None) -> EncoderOutput:
        """Encodes every node of every tree.

        Inputs:
            batch: a :class:`TreeBatch` on the module's device.
            inputs: optional ``(N, E)`` node inputs in node order, replacing the embedding
                lookup; rows of nodes without a token are not read.

        Outputs (:class:`EncoderOutput`):
            states: ``(N, H)`` every node's state, in node order (each tree in post-order,
                trees concatenated).
            final: ``(B, H)`` the root states.
            memory: ``(N, H)`` memory cells in node order (Tree-LSTMs), else None.

        Raises:
            TreeStructureError: a binary-only cell and a batch with a non-binary tree.
        """
        if self.cell.arity is not None and batch.max_arity > 0 and not batch.is_binary:
            raise binary_error(type(self.cell).__name__)
        weight = self.embedding.weight
        if batch.device != weight.device:
            raise ValueError(
                f"the batch is on {batch.device} but the encoder on {weight.device}; "
                f"call batch.to({str(weight.device)!r})"
            )
        xw = self._projected_inputs(batch, inputs)  # (N, G) level order
        if self.backend == "native":
            states, memory = native_propagate(self.cell, batch, xw)  # (N, H) node order
        else:
            states, memory = dgl_propagate(self.cell, batch, xw.index_select(0, batch.slot))
        final = states.index_select(0, batch.roots)  # (B, H)
        return EncoderOutput(states=states, final=final, memory=memory)


__all__ = ["TreeEncoder", "native_propagate", "dgl_propagate", "BACKENDS"]
