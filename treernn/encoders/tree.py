"""Tree encoders: a tree cell run bottom-up over a :class:`~treernn.batching.TreeBatch`.

Two backends share the cell maths of :mod:`treernn.nn.tree_cells` and differ only in the
traversal:

- ``native`` (:func:`native_propagate`): pure PyTorch. One step per tree level (height):
  gather the level's children states, one batched cell call, write the level's states. All
  leaves go in one call. A level's nodes are a contiguous slice of the level-ordered state
  buffers (see :class:`TreeBatch`), so each level writes its slice in place; no per-node
  Python. Training runs in a custom autograd function whose backward walks the levels
  top-down and adds each level's child gradients into a gradient buffer at the children's
  rows; plain autograd over a growing state buffer would copy the whole buffer once per level.
  Cells with a :class:`~treernn.nn.tree_cells.LevelKernel` (the Tree-LSTMs, ``rnn``) use its
  hand-derived backward; others get autograd per level.
- ``dgl`` (:func:`dgl_propagate`): the batch as one DGL graph with edges child -> parent,
  propagated frontier by frontier in topological order (``dgl.prop_nodes`` over the levels,
  which are exactly DGL's topological frontiers), children gathered by the built-in
  ``u_mul_e`` / ``sum`` message functions, plain autograd. Slower; a cross-check, and the
  bridge for users of DGL graphs.

The input projections (``W x + b`` of every gate) are computed before the level loop: one
matrix multiply over the batch's distinct leaf words (then gathered to the leaves), one for
internal nodes with a token (dependency trees). Without gradients (inference, evaluation) the
native encoder reads the leaves' states from a table of every vocabulary word's leaf state,
built once per parameter change (:meth:`TreeEncoder._leaf_table`).

Legend: B trees, N nodes in the batch, n0 leaves, K the largest number of children,
E input size, H hidden size, G / G_leaf the cell's internal / leaf projection sizes.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from treernn._dgl import import_dgl
from treernn.errors import EncoderError
from treernn.batching.tree import TreeBatch
from treernn.encoders.base import Encoder, EncoderOutput
from treernn.nn.dropout import Dropout
from treernn.nn.tree_cells import TREE_CELLS, TreeCell, binary_error

BACKENDS = ("native", "dgl")

# Inference computes every vocabulary word's leaf state once (see TreeEncoder._leaf_table)
# when the vocabulary has at most this many words (2 x 100k x H floats: 120 MB at H = 150).
LEAF_TABLE_MAX_WORDS = 100_000

States = tuple[torch.Tensor, Optional[torch.Tensor]]


# --------------------------------------------------------------------------- native backend
class _Levels:
    """Per-level views of a batch's index tensors, made once per forward (Python ints and
    tensor views; no device work)."""

    def __init__(self, batch: TreeBatch) -> None:
        n0, off = batch.num_leaves, batch.level_offsets
        self.n0 = n0
        # (k, slot range, internal-row range, flat child slots (n * K,))
        self.internal = [
            (k, off[k], off[k + 1], off[k] - n0, off[k + 1] - n0,
             batch.level_children[off[k] - n0 : off[k + 1] - n0].reshape(-1))
            for k in range(1, batch.num_levels)
        ]


def _gather(buf: torch.Tensor, flat: torch.Tensor, K: int) -> torch.Tensor:
    """Children states ``(n, K, H)`` from a level-order buffer ``(N + 1, H)``."""
    return buf.index_select(0, flat).view(-1, K, buf.size(1))  # (n, K, H)


def _grad_buffer(grad: Optional[torch.Tensor], batch: TreeBatch, like: torch.Tensor):
    """A level-order gradient buffer ``(N + 1, H)`` from a node-order gradient ``(N, H)``."""
    buf = like.new_zeros(batch.num_nodes + 1, like.size(1))
    if grad is not None:
        buf.index_copy_(0, batch.slot, grad)  # buf[slot[i]] = grad[i]
    return buf


def _outputs(h: torch.Tensor, c: Optional[torch.Tensor], batch: TreeBatch):
    """Node-order ``(N, H)`` states from level-order buffers ``(N + 1, H)``."""
    h = h.index_select(0, batch.slot)  # (N, H)
    return h if c is None else (h, c.index_select(0, batch.slot))


def _kernel_forward(kernel, cell, batch, levels, xw_leaf, xw_int, leaf_states=None):
    """The level loop with a :class:`LevelKernel`. Level-order state buffers ``(N + 1, H)``
    whose last row (the state of a missing child) stays zero. ``leaf_states``: the leaves'
    ``(h, c)`` given (inference; ``xw_leaf`` is then unused)."""
    N, H, K, n0 = batch.num_nodes, cell.hidden_size, batch.max_arity, batch.num_leaves
    like = xw_leaf if leaf_states is None else leaf_states[0]
    h = like.new_zeros(N + 1, H)
    c = like.new_zeros(N + 1, H) if cell.has_memory else None
    if leaf_states is None:
        kernel.leaf(xw_leaf, h[:n0], None if c is None else c[:n0])  # every leaf in one call
    else:
        _set_leaves(h, c, leaf_states, n0)
    if kernel.fused:  # every level in one call (compiled: treernn.nn.fused)
        if levels.internal:
            kernel.forward_levels(batch.level_offsets, batch.level_children, xw_int, h, c)
        return h, c
    for k, lo, hi, ilo, ihi, flat in levels.internal:
        h_kids = _gather(h, flat, K)  # (n, K, H)
        c_kids = None if c is None else _gather(c, flat, K)  # (n, K, H)
        x = None if xw_int is None else xw_int[ilo:ihi]  # (n, G)
        kernel.step(k, ilo, ihi, x, h_kids, c_kids, h[lo:hi], None if c is None else c[lo:hi])
    return h, c


class _KernelLevels(torch.autograd.Function):
    """Autograd for :func:`native_propagate` through a cell's :class:`LevelKernel`."""

    @staticmethod
    def forward(ctx, cell, batch, names, xw_leaf, xw_int, *params):
        levels = _Levels(batch)
        kernel = cell.kernel(batch.num_leaves, batch.num_nodes - batch.num_leaves, xw_leaf)
        h, c = _kernel_forward(kernel, cell, batch, levels, xw_leaf, xw_int)
        ctx.set_materialize_grads(False)  # an unused output (often c) gets no zero gradient
        ctx.kernel, ctx.batch, ctx.levels, ctx.names = kernel, batch, levels, names
        ctx.shapes = (xw_leaf.shape, None if xw_int is None else xw_int.shape)
        return _outputs(h, c, batch)

    @staticmethod
    @once_differentiable
    def backward(ctx, dh, dc=None):
        kernel, batch, levels = ctx.kernel, ctx.batch, ctx.levels
        n0 = batch.num_leaves
        like = dh if dh is not None else dc
        if like is None:  # neither output was used
            return (None,) * (5 + len(ctx.names))
        d_h = _grad_buffer(dh, batch, like)  # (N + 1, H) level order
        d_c = _grad_buffer(dc, batch, like) if kernel.cell.has_memory else None
        leaf_shape, int_shape = ctx.shapes
        d_leaf = like.new_empty(leaf_shape)  # (n0, G_leaf), written by the kernel
        d_int = None if int_shape is None else like.new_empty(int_shape)  # (N - n0, G)
        if kernel.fused:  # every level in one call (compiled: treernn.nn.fused)
            if levels.internal:
                kernel.backward_levels(d_h, d_c, d_int)
        else:
            for k, lo, hi, ilo, ihi, flat in reversed(levels.internal):
                dh_kids, dc_kids = kernel.step_backward(
                    k, ilo, ihi, d_h[lo:hi], None if d_c is None else d_c[lo:hi],
                    None if d_int is None else d_int[ilo:ihi],
                )
                d_h.index_add_(0, flat, dh_kids.reshape(flat.numel(), -1))  # (n * K, H) to children
                if dc_kids is not None:
                    d_c.index_add_(0, flat, dc_kids.reshape(flat.numel(), -1))
        kernel.leaf_backward(d_h[:n0], None if d_c is None else d_c[:n0], d_leaf)
        grads = kernel.param_grads(d_int)
        return (None, None, None, d_leaf, d_int, *(grads.get(name) for name in ctx.names))


def _set_leaves(h_buf, c_buf, leaf_states, n0: int) -> None:
    h_buf[:n0] = leaf_states[0]
    if c_buf is not None:
        c_buf[:n0] = leaf_states[1]


def _autograd_forward(cell, batch, levels, xw_leaf, xw_int, record: bool, leaf_states=None):
    """The level loop through the cell's autograd maths. Level-order state buffers
    ``(N + 1, H)`` (last row zero) and, when ``record``, per level the ``(inputs, outputs)``
    of a small autograd graph built on detached inputs."""
    N, H, K, n0 = batch.num_nodes, cell.hidden_size, batch.max_arity, batch.num_leaves
    like = xw_leaf if leaf_states is None else leaf_states[0]
    h_buf = like.new_zeros(N + 1, H)
    c_buf = like.new_zeros(N + 1, H) if cell.has_memory else None
    graphs = []
    with torch.set_grad_enabled(record):
        if leaf_states is None:
            x = xw_leaf.detach().requires_grad_() if record else xw_leaf
            h, c = cell.leaf(x)  # (n0, H) every leaf in one call
            _set_leaves(h_buf, c_buf, (h.detach(), None if c is None else c.detach()), n0)
            graphs.append(((x,), (h,) if c is None else (h, c)))
        else:  # (inference only)
            _set_leaves(h_buf, c_buf, leaf_states, n0)
        for k, lo, hi, ilo, ihi, flat in levels.internal:
            x = None if xw_int is None else xw_int[ilo:ihi]  # (n, G)
            if record and x is not None:
                x = x.detach().requires_grad_()
            h_kids = _gather(h_buf, flat, K)  # (n, K, H)
            c_kids = None if c_buf is None else _gather(c_buf, flat, K)
            inputs = tuple(t for t in (x, h_kids, c_kids) if t is not None)
            if record:
                for t in inputs:
                    t.requires_grad_()
            h, c = cell.step(x, h_kids, c_kids, batch.level_child_mask[ilo:ihi])
            h_buf[lo:hi] = h.detach()  # (n, H) into the level's slice
            if c_buf is not None:
                c_buf[lo:hi] = c.detach()
            graphs.append((inputs, (h,) if c is None else (h, c)))
    return h_buf, c_buf, graphs


class _AutogradLevels(torch.autograd.Function):
    """Autograd for :func:`native_propagate` without a kernel: the backward differentiates
    each level's small graph, top-down (first derivatives only)."""

    @staticmethod
    def forward(ctx, cell, batch, names, xw_leaf, xw_int, *params):
        levels = _Levels(batch)
        h, c, graphs = _autograd_forward(cell, batch, levels, xw_leaf, xw_int, record=True)
        ctx.batch, ctx.levels, ctx.graphs, ctx.params = batch, levels, graphs, params
        ctx.memory = c is not None
        ctx.int_shape = None if xw_int is None else xw_int.shape
        return _outputs(h, c, batch)

    @staticmethod
    @once_differentiable
    def backward(ctx, dh, dc=None):
        batch, levels, graphs, params = ctx.batch, ctx.levels, ctx.graphs, ctx.params
        n0 = batch.num_leaves
        d_h = _grad_buffer(dh, batch, dh)  # (N + 1, H) level order
        d_c = _grad_buffer(dc, batch, dh) if ctx.memory else None
        d_int = None if ctx.int_shape is None else dh.new_zeros(ctx.int_shape)  # (N - n0, G)
        wanted = [i for i, p in enumerate(params) if p.requires_grad]
        d_params: list[Optional[torch.Tensor]] = [None] * len(params)

        def differentiate(graph, lo, hi):
            inputs, outputs = graph
            d_out = (d_h[lo:hi],) if d_c is None else (d_h[lo:hi], d_c[lo:hi])
            got = torch.autograd.grad(  # retain_graph: backward may run again (gradcheck)
                outputs, inputs + tuple(params[i] for i in wanted), d_out,
                allow_unused=True, retain_graph=True,
            )
            for i, g in zip(wanted, got[len(inputs) :]):
                if g is not None:
                    d_params[i] = g if d_params[i] is None else d_params[i] + g
            return got[: len(inputs)]

        for (k, lo, hi, ilo, ihi, flat), graph in zip(reversed(levels.internal), graphs[:0:-1]):
            got = list(differentiate(graph, lo, hi))
            if d_int is not None:
                d_int[ilo:ihi] = got.pop(0)
            for buf, g in zip((d_h, d_c), got):  # children's h, then c
                if g is not None:
                    buf.index_add_(0, flat, g.reshape(flat.numel(), -1))  # (n * K, H)
        (d_leaf,) = differentiate(graphs[0], 0, n0)
        return (None, None, None, d_leaf, d_int, *d_params)


def native_propagate(
    cell: TreeCell,
    batch: TreeBatch,
    xw_leaf: torch.Tensor,
    xw_internal: Optional[torch.Tensor],
    use_kernel: bool = True,
    leaf_states: Optional[States] = None,
) -> States:
    """Runs ``cell`` bottom-up over ``batch``, one step per level, in pure PyTorch.

    Inputs:
        xw_leaf: ``(n0, G_leaf)`` the leaves' projected inputs, in level order (leaf ``j`` is
            node ``batch.order[j]``); None when ``leaf_states`` are given.
        xw_internal: ``(N - n0, G)`` the internal nodes' projected inputs in level order, or
            None for cells that read none (or a batch without internal nodes).
        use_kernel: use the cell's :class:`LevelKernel` when it has one (hand-derived
            backward, the fast path); False forces autograd through :meth:`TreeCell.step`.
        leaf_states: the leaves' ``(h, c)``, each ``(n0, H)`` in level order (``c`` None for
            cells without memory), instead of computing them from ``xw_leaf``. Inference
            only (no gradient flows to them).

    Outputs: ``(h, c)``, each ``(N, H)`` in node order; ``c`` is None for cells without a
    memory cell. Differentiable once (no double backward).
    """
    if cell.arity is not None and batch.max_arity > 0 and not batch.is_binary:
        raise binary_error(type(cell).__name__)  # once here, not in every level's step
    names, params = zip(*cell.named_parameters())
    has_kernel = use_kernel and type(cell).kernel is not TreeCell.kernel
    tensors = [t for t in (xw_leaf, xw_internal, *params) if t is not None]
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        if leaf_states is not None:
            raise EncoderError("leaf_states are for inference (no gradient); pass xw_leaf")
        function = _KernelLevels if has_kernel else _AutogradLevels
        out = function.apply(cell, batch, names, xw_leaf, xw_internal, *params)
        return (out[0], out[1]) if cell.has_memory else (out, None)
    levels = _Levels(batch)
    with torch.no_grad():
        if has_kernel:
            like = xw_leaf if leaf_states is None else leaf_states[0]
            kernel = cell.kernel(batch.num_leaves, batch.num_nodes - batch.num_leaves, like)
            h, c = _kernel_forward(kernel, cell, batch, levels, xw_leaf, xw_internal, leaf_states)
        else:
            h, c, _ = _autograd_forward(cell, batch, levels, xw_leaf, xw_internal, record=False,
                                        leaf_states=leaf_states)
        out = _outputs(h, c, batch)
    return (out[0], out[1]) if cell.has_memory else (out, None)


# --------------------------------------------------------------------------- DGL backend
def dgl_propagate(
    cell: TreeCell,
    batch: TreeBatch,
    xw_leaf: torch.Tensor,
    xw_internal: Optional[torch.Tensor],
) -> States:
    """Runs ``cell`` over ``batch`` as a DGL graph (edges child -> parent), frontier by
    frontier in topological order, with plain autograd. Inputs and outputs as
    :func:`native_propagate`."""
    dgl = import_dgl(xw_leaf.device)
    import dgl.function as fn

    N, H, K, n0 = batch.num_nodes, cell.hidden_size, batch.max_arity, batch.num_leaves
    h, c = cell.leaf(xw_leaf)  # (n0, H) every leaf in one call
    state = h if c is None else torch.cat([h, c], 1)  # (n0, S), S = H or 2H
    leaves = batch.order[:n0]  # (n0,) node ids of the leaves
    s0 = state.new_zeros(N, state.size(1)).index_copy(0, leaves, state)  # (N, S) node order
    if batch.num_levels > 1:
        g = dgl.graph((batch.edge_src, batch.edge_dst), num_nodes=N, device=xw_leaf.device)
        g.create_formats_()  # once, not lazily inside every frontier's in_edges lookup
        # (N, 1, S) node states; u_mul_e with the (E, K, 1) one-hot child position puts each
        # child's state in its slot, and sum gives every parent its (K, S) children in order.
        g.ndata["s"] = s0.unsqueeze(1)
        if xw_internal is not None:
            internal = batch.order[n0:]  # (N - n0,) node ids, level order
            g.ndata["xw"] = xw_internal.new_zeros(N, xw_internal.size(1)).index_copy(
                0, internal, xw_internal
            )  # (N, G) node order
        arity = torch.bincount(batch.edge_dst, minlength=N)  # (N,)
        g.ndata["mask"] = torch.arange(K, device=arity.device) < arity[:, None]  # (N, K)
        g.edata["slot"] = F.one_hot(batch.edge_pos, K).to(state.dtype).unsqueeze(-1)  # (E, K, 1)

        def apply(nodes):
            kids = nodes.data["kids"]  # (n, K, S)
            xw = nodes.data["xw"] if xw_internal is not None else None
            c_kids = kids[..., H:] if cell.has_memory else None
            h, c = cell.step(xw, kids[..., :H], c_kids, nodes.data["mask"])
            return {"s": (h if c is None else torch.cat([h, c], 1)).unsqueeze(1)}  # (n, 1, S)

        off = batch.level_offsets
        frontiers = [batch.order[off[k] : off[k + 1]] for k in range(1, batch.num_levels)]
        dgl.prop_nodes(g, frontiers, fn.u_mul_e("s", "slot", "m"), fn.sum("m", "kids"), apply)
        s0 = g.ndata["s"].squeeze(1)  # (N, S)
    return s0[:, :H], (s0[:, H:] if cell.has_memory else None)


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
        input_dropout: dropout on each token's word vector while training (DGL's Tree-LSTM
            example drops its embeddings; Tai et al.'s code does not); 0: none.

    Internal nodes without a token (phrase-structure trees) take no input (x = 0). The
    encoder allocates its own zero states.
    """

    def __init__(
        self,
        vocab_size: int,
        input_dim: int,
        hidden_dim: int,
        cell: str = "nary-tree-lstm",
        backend: str = "native",
        padding_idx: int = 0,
        input_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= input_dropout < 1.0:
            raise EncoderError(f"input_dropout must be a probability in [0, 1), got {input_dropout!r}")
        if cell not in TREE_CELLS:
            raise EncoderError(f"unknown tree cell {cell!r}; known cells: {', '.join(TREE_CELLS)}")
        if backend not in BACKENDS:
            raise EncoderError(
                f"unknown tree backend {backend!r}; known backends: {', '.join(BACKENDS)}"
            )
        if backend == "dgl":
            import_dgl()  # fail now, not at the first batch
        self.cell_name = cell
        self.backend = backend
        self.embedding = nn.Embedding(vocab_size, input_dim, padding_idx=padding_idx)
        self.cell = TREE_CELLS[cell](input_dim, hidden_dim)
        self.input_dropout = Dropout(input_dropout)
        self._leaf_key: Optional[tuple] = None  # see _leaf_table (not part of the state)
        self._leaf_states: Optional[States] = None

    def get_input_dim(self) -> int:
        return self.cell.input_size

    def _use_leaf_table(self, inputs: Optional[torch.Tensor]) -> bool:
        return (inputs is None and self.backend == "native" and not torch.is_grad_enabled()
                and self.embedding.num_embeddings <= LEAF_TABLE_MAX_WORDS)

    def _leaf_table(self) -> States:
        """Every vocabulary word's leaf states ``(V, H)`` (and memory cells), for inference.

        A leaf's state is a function of its word alone, so without gradients the encoder
        computes it once per word (one matrix multiply over the table) instead of once per
        leaf per batch. The table is rebuilt when the embedding or a cell parameter changes:
        ``load_state_dict``, ``.to()``, an in-place edit (each bumps the tensor's version
        counter or moves its storage), and after every forward pass with gradients, since an
        optimizer step may follow it (the fused CPU optimizers bump no version counter: with
        frozen embeddings the table went stale between epochs, and the dev scores that chose the
        best epoch were computed with old leaf states)."""
        params = (self.embedding.weight, *self.cell.parameters())
        key = tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in params)
        if self._leaf_key != key:
            with torch.no_grad():
                xw = self.cell.project_leaf(self.embedding.weight)  # (V, G_leaf)
                self._leaf_states = self.cell.leaf(xw)  # (V, H) each
            self._leaf_key = key
        return self._leaf_states

    def get_output_dim(self) -> int:
        return self.cell.hidden_size

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        self.cell.reset_parameters()

    def extra_repr(self) -> str:
        return f"cell={self.cell_name!r}, backend={self.backend!r}"

    def _projected_inputs(self, batch: TreeBatch, inputs: Optional[torch.Tensor],
                          leaves: bool = True):
        """``(n0, G_leaf)`` leaf and ``(N - n0, G)`` internal projections, level order; the
        leaves' are None when ``leaves`` is False."""
        cell = self.cell
        N, T, n0 = batch.num_nodes, batch.num_tokens, batch.num_leaves
        if inputs is None and not leaves:
            xw_leaf = None
            if T > n0:
                x = self.embedding(batch.slot_token_ids[n0:])  # (T - n0, E) internal words
        elif inputs is None and self.training and self.input_dropout.p > 0:
            # a mask per token, so every token is embedded, dropped out and projected itself
            x = self.input_dropout(self.embedding(batch.slot_token_ids))  # (T, E) leaves first
            xw_leaf = cell.project_leaf(x[:n0])  # (n0, G_leaf)
            x = x[n0:]  # (T - n0, E)
        elif inputs is None:
            # Each distinct word of the batch is embedded and projected once (a leaf's
            # projection depends on its word only), then gathered to the leaves.
            x = self.embedding(batch.unique_token_ids)  # (U, E)
            index = batch.token_unique_index  # (T,) leaves first
            xw_leaf = cell.project_leaf(x).index_select(0, index[:n0])  # (n0, G_leaf)
            if T > n0:
                x = x.index_select(0, index[n0:])  # (T - n0, E) internal nodes' words
        else:
            if inputs.dim() != 2 or inputs.size(0) != N or inputs.size(1) != cell.input_size:
                raise EncoderError(
                    f"inputs must be (N, E) = ({N}, {cell.input_size}), got {tuple(inputs.shape)}"
                )
            x = inputs.index_select(0, batch.order.index_select(0, batch.token_slots))  # (T, E)
            xw_leaf = cell.project_leaf(x[:n0])  # (n0, G_leaf) one multiply for every leaf
            x = x[n0:]  # (T - n0, E)
        if N == n0 or not cell.uses_internal_input:
            return xw_leaf, None
        xw_int = cell.empty_projection().expand(N - n0, cell.projection_size)  # (N - n0, G)
        if T > n0:  # dependency trees: internal nodes with a token
            rows = batch.token_slots[n0:] - n0  # (T - n0,)
            xw_int = xw_int.index_copy(0, rows, cell.project(x))  # (N - n0, G)
        return xw_leaf, xw_int

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
            raise EncoderError(
                f"the batch is on {batch.device} but the encoder on {weight.device}; "
                f"call batch.to({str(weight.device)!r})"
            )
        if torch.is_grad_enabled():
            # A forward with gradients may be followed by an optimizer step, and CPU's fused
            # optimizers change the parameters without bumping their version counters: the
            # table's key would not see it (stale leaf states in the next evaluation).
            self._leaf_key = None
        if self._use_leaf_table(inputs):
            h_tab, c_tab = self._leaf_table()
            words = batch.slot_token_ids[: batch.num_leaves]  # (n0,) the leaves' words
            leaf_states = (h_tab.index_select(0, words),
                           None if c_tab is None else c_tab.index_select(0, words))
            _, xw_int = self._projected_inputs(batch, None, leaves=False)
            states, memory = native_propagate(self.cell, batch, None, xw_int, leaf_states=leaf_states)
        else:
            xw_leaf, xw_int = self._projected_inputs(batch, inputs)
            propagate = native_propagate if self.backend == "native" else dgl_propagate
            states, memory = propagate(self.cell, batch, xw_leaf, xw_int)  # (N, H) node order
        final = states.index_select(0, batch.roots)  # (B, H)
        return EncoderOutput(states=states, final=final, memory=memory)


__all__ = ["TreeEncoder", "native_propagate", "dgl_propagate", "BACKENDS"]
