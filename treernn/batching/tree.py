"""The batch type of tree encoders, and the per-tree plans it is built from.

Build batches only with :func:`batch_trees` (never by hand, like PyTorch's ``PackedSequence``).
The work that depends on one tree alone (its post-order, token ids, labels, heights, edges) is
done once per tree by :func:`plan_tree`; pass the plans instead of the trees to
:func:`batch_trees` to reuse that work across epochs::

    plans = [plan_tree(t, vocab) for t in train_trees]      # once
    batch = batch_trees(plans[i:i + 25], device="cuda")       # per batch: numpy only

Legend: B trees, N nodes in the batch, K the largest number of children of a node in the
batch, T nodes that carry a token, L levels (the largest height in the batch, plus one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch

from treernn.device import to_device
from treernn.errors import TreeBatchError
from treernn.trees.tree import Label, Tree
from treernn.vocab import Vocab

Device = Union[torch.device, str, None]
LabelFn = Callable[[Label], int]


def _default_label(label: Label) -> int:
    if label is None:
        return -1
    if isinstance(label, (int, np.integer)):
        return int(label)
    raise TreeBatchError(
        f"label {label!r} is not an integer; pass label_fn= to map labels to class ids"
    )


@dataclass(frozen=True, eq=False)
class TreePlan:
    """What :func:`batch_trees` needs from one tree, computed once (numpy, CPU).

    Node ids are post-order positions in the tree (the root is ``n - 1``). A plan is a
    snapshot: it does not see later changes to the tree or to the vocabulary.

    Attributes:
        n: number of nodes.
        token_ids: ``(n,)`` int64, the vocabulary id of each node's token, PAD (0) if none.
        has_token: ``(n,)`` bool.
        labels: ``(n,)`` int64, class ids, -1 where the node has no label.
        heights: ``(n,)`` int64, 0 at leaves, 1 + the largest child height elsewhere.
        edge_child, edge_parent, edge_position: ``(n - 1,)`` int64 each, one entry per
            child -> parent edge, ``edge_position`` the child's place among its siblings.
        max_arity: the largest number of children of a node (0 for a single leaf).
        is_binary: every internal node has exactly two children and no token
            (:meth:`Tree.is_binary`).
    """

    n: int
    token_ids: np.ndarray
    has_token: np.ndarray
    labels: np.ndarray
    heights: np.ndarray
    edge_child: np.ndarray
    edge_parent: np.ndarray
    edge_position: np.ndarray
    max_arity: int
    is_binary: bool


def plan_tree(tree: Tree, vocab: Vocab, label_fn: Optional[LabelFn] = None) -> TreePlan:
    """The :class:`TreePlan` of ``tree``: its token ids under ``vocab`` and its label ids.

    Args:
        label_fn: maps a node label to a class id (-1 for "no label"). By default integer
            labels are kept and None becomes -1; string labels need a ``label_fn``.

    Raises:
        TreeBatchError: a label that is not an integer and no ``label_fn``.
    """
    to_label = _default_label if label_fn is None else label_fn
    nodes = tree.postorder()
    n = len(nodes)
    where = {id(node): i for i, node in enumerate(nodes)}
    heights = [0] * n
    child: list[int] = []
    parent: list[int] = []
    position: list[int] = []
    max_arity = 0
    is_binary = True
    for i, node in enumerate(nodes):
        kids = node.children
        if not kids:
            continue
        if len(kids) != 2 or node.token is not None:
            is_binary = False
        max_arity = max(max_arity, len(kids))
        h = 0
        for k, kid in enumerate(kids):
            j = where[id(kid)]
            child.append(j)
            parent.append(i)
            position.append(k)
            h = max(h, heights[j] + 1)
        heights[i] = h
    has_token = [node.token is not None for node in nodes]
    ids = vocab.encode([node.token for node in nodes if node.token is not None])
    token_ids = np.zeros(n, dtype=np.int64)
    token_ids[np.asarray(has_token, dtype=bool)] = ids
    return TreePlan(
        n=n,
        token_ids=token_ids,
        has_token=np.asarray(has_token, dtype=bool),
        labels=np.asarray([to_label(node.label) for node in nodes], dtype=np.int64),
        heights=np.asarray(heights, dtype=np.int64),
        edge_child=np.asarray(child, dtype=np.int64),
        edge_parent=np.asarray(parent, dtype=np.int64),
        edge_position=np.asarray(position, dtype=np.int64),
        max_arity=max_arity,
        is_binary=is_binary,
    )


# Index tensors of a batch, all int64, packed into one flat tensor so that a batch moves to a
# device in one transfer. name -> shape (symbolic, resolved in batch_trees).
_FIELDS = (
    "token_ids", "has_token", "labels", "levels", "node_tree",  # (N,) post-order
    "offsets", "roots", "sizes",  # (B + 1,), (B,), (B,)
    "edge_src", "edge_dst", "edge_pos",  # (N - B,) edges child -> parent, post-order ids
    "order", "slot",  # (N,) level order <-> post-order
    "level_children",  # (N - n_leaves, K), slots
    "token_slots", "slot_token_ids", "token_unique_index",  # (T,)
    "unique_token_ids",  # (U,)
)


class TreeBatch:
    """B trees as index tensors, for tree encoders. Built only by :func:`batch_trees`.

    **Node order** (of every per-node tensor and of encoder outputs): each tree in post-order
    (children left to right, then the parent; the root last), trees concatenated in the
    caller's order. Tree ``b`` holds nodes ``offsets[b]:offsets[b + 1]``; its root is
    ``roots[b] == offsets[b + 1] - 1``.

    **Level order** (the native backend's working layout): nodes sorted by level (height:
    0 = leaves, level k = nodes whose children all lie in levels < k), ties kept in node order.
    Level k occupies the contiguous slots ``level_offsets[k]:level_offsets[k + 1]``, so a
    level's states are a slice, not a scatter. ``order[j]`` is the node in slot ``j`` and
    ``slot[i]`` the slot of node ``i`` (``states_in_node_order = level_states[slot]``).

    Attributes (tensors on :attr:`device`, int64 unless stated):
        token_ids: ``(N,)`` vocabulary ids, PAD (0) at nodes without a token.
        has_token: ``(N,)`` bool.
        labels: ``(N,)`` class ids, -1 where a node has no label.
        levels: ``(N,)`` each node's level (its height).
        node_tree: ``(N,)`` the tree of each node.
        offsets: ``(B + 1,)``; sizes: ``(B,)`` nodes per tree; roots: ``(B,)``.
        edge_src, edge_dst, edge_pos: ``(N - B,)`` one entry per edge child -> parent, in node
            ids, and the child's position among its siblings (0-based), for graph backends.
        order, slot: ``(N,)`` level order <-> node order, see above.
        level_children: ``(N - n_leaves, K)`` the children of every internal node, in slots,
            rows in level order from level 1; column ``p`` is the child at position ``p``
            (so the column *is* the child position an N-ary cell needs); a missing child
            (a node with fewer than K children) is slot ``N``, which a backend keeps as an
            all-zero state. :meth:`level_child_index` gives one level's rows.
        level_child_mask: ``(N - n_leaves, K)`` bool, True at real children.
        token_slots: ``(T,)`` slots of the nodes that carry a token, ascending (the leaves
            are the first ``num_leaves``).
        slot_token_ids: ``(T,)`` their vocabulary ids.
        unique_token_ids: ``(U,)`` the distinct ids among them, ascending, and
        token_unique_index: ``(T,)`` where each token's id is in ``unique_token_ids``
            (``slot_token_ids == unique_token_ids[token_unique_index]``), so an encoder
            embeds and projects each distinct word of a batch once.

    Python attributes (CPU, never moved): ``num_trees`` (B), ``num_nodes`` (N),
    ``max_arity`` (K), ``level_offsets`` (L + 1 ints), ``num_leaves``, ``num_tokens`` (T),
    ``tokens_first`` (the token-bearing nodes are exactly slots ``0:T``, true for
    phrase-structure trees), ``is_binary`` (every tree satisfies :meth:`Tree.is_binary`).
    """

    token_ids: torch.Tensor
    has_token: torch.Tensor
    labels: torch.Tensor
    levels: torch.Tensor
    node_tree: torch.Tensor
    offsets: torch.Tensor
    roots: torch.Tensor
    sizes: torch.Tensor
    edge_src: torch.Tensor
    edge_dst: torch.Tensor
    edge_pos: torch.Tensor
    order: torch.Tensor
    slot: torch.Tensor
    level_children: torch.Tensor
    level_child_mask: torch.Tensor
    token_slots: torch.Tensor
    slot_token_ids: torch.Tensor
    unique_token_ids: torch.Tensor
    token_unique_index: torch.Tensor

    def __init__(self, flat: torch.Tensor, layout: tuple, meta: dict) -> None:
        # Private: use batch_trees(). `flat` holds every index tensor (int64), `layout` the
        # (name, start, shape) of each, `meta` the Python attributes.
        self._flat = flat
        self._layout = layout
        self._meta = meta
        for name, start, shape in layout:
            size = int(np.prod(shape)) if shape else 1
            setattr(self, name, flat[start:start + size].view(shape))
        self.has_token = self.has_token.bool()
        self.level_child_mask = self.level_children < meta["num_nodes"]
        for key, value in meta.items():
            setattr(self, key, value)

    # Declared for type checkers and readers; set from `meta` in __init__.
    num_trees: int
    num_nodes: int
    max_arity: int
    level_offsets: tuple[int, ...]
    num_leaves: int
    num_tokens: int
    tokens_first: bool
    is_binary: bool

    def __len__(self) -> int:
        """B, the number of trees."""
        return self.num_trees

    def __repr__(self) -> str:
        return (
            f"TreeBatch(B={self.num_trees}, N={self.num_nodes}, levels={self.num_levels}, "
            f"K={self.max_arity}, device={self.device})"
        )

    @property
    def device(self) -> torch.device:
        return self._flat.device

    @property
    def num_levels(self) -> int:
        """L: the number of levels (the largest tree height in the batch, plus one)."""
        return len(self.level_offsets) - 1

    def level_child_index(self, level: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The children (slots) ``(n_level, K)`` and their mask of the nodes of ``level`` >= 1."""
        if not 1 <= level < self.num_levels:
            raise TreeBatchError(f"level must be in 1..{self.num_levels - 1}, got {level}")
        lo = self.level_offsets[level] - self.num_leaves
        hi = self.level_offsets[level + 1] - self.num_leaves
        return self.level_children[lo:hi], self.level_child_mask[lo:hi]

    def to(self, device: Device, non_blocking: bool = False) -> "TreeBatch":
        """A new batch on ``device`` (one transfer); this batch is not changed."""
        return TreeBatch(self._flat.to(device, non_blocking=non_blocking), self._layout, self._meta)

    def pin_memory(self) -> "TreeBatch":
        """A new batch in pinned CPU memory (for ``.to('cuda', non_blocking=True)``)."""
        return TreeBatch(self._flat.pin_memory(), self._layout, self._meta)


def batch_trees(
    trees: Sequence[Union[Tree, TreePlan]],
    vocab: Optional[Vocab] = None,
    label_fn: Optional[LabelFn] = None,
    device: Device = None,
) -> TreeBatch:
    """A :class:`TreeBatch` of ``trees`` (in the given order).

    Args:
        trees: :class:`Tree` objects, or :class:`TreePlan` objects from :func:`plan_tree`
            (faster: the per-tree work is already done), or a mix.
        vocab: maps tokens to ids; needed for :class:`Tree` items, unused for plans.
        label_fn: maps node labels to class ids, see :func:`plan_tree`.
        device: where the batch tensors live (built on the CPU, moved in one transfer; to CUDA
            from pinned memory, non-blocking).

    Raises:
        TreeBatchError: an empty list, a Tree without ``vocab``, or labels that are not
            integers and no ``label_fn``.
    """
    if len(trees) == 0:
        raise TreeBatchError("cannot batch an empty list of trees; give at least one tree")
    plans = []
    for item in trees:
        if isinstance(item, TreePlan):
            plans.append(item)
        elif isinstance(item, Tree):
            if vocab is None:
                raise TreeBatchError("batch_trees() needs vocab= to batch Tree objects")
            plans.append(plan_tree(item, vocab, label_fn))
        else:
            raise TreeBatchError(
                f"batch_trees() takes Tree or TreePlan items, got {type(item).__name__}"
            )

    B = len(plans)
    sizes = np.fromiter((p.n for p in plans), dtype=np.int64, count=B)
    offsets = np.zeros(B + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    N = int(offsets[-1])
    K = max(p.max_arity for p in plans)

    cat = np.concatenate
    token_ids = cat([p.token_ids for p in plans])
    has_token = cat([p.has_token for p in plans])
    labels = cat([p.labels for p in plans])
    levels = cat([p.heights for p in plans])
    node_tree = np.repeat(np.arange(B, dtype=np.int64), sizes)
    shift = np.repeat(offsets[:-1], sizes - 1)  # node offset of each edge's tree
    edge_src = cat([p.edge_child for p in plans]) + shift
    edge_dst = cat([p.edge_parent for p in plans]) + shift
    edge_pos = cat([p.edge_position for p in plans])

    # Level order: stable sort by level keeps node order within a level.
    order = np.argsort(levels, kind="stable")
    slot = np.empty(N, dtype=np.int64)
    slot[order] = np.arange(N, dtype=np.int64)
    level_sizes = np.bincount(levels)
    level_offsets = np.zeros(len(level_sizes) + 1, dtype=np.int64)
    np.cumsum(level_sizes, out=level_offsets[1:])
    n_leaves = int(level_sizes[0])
    # children[parent slot - n_leaves, position] = child slot; missing children -> slot N.
    level_children = np.full((N - n_leaves, K), N, dtype=np.int64)
    level_children[slot[edge_dst] - n_leaves, edge_pos] = slot[edge_src]
    token_slots = np.flatnonzero(has_token[order])
    if len(token_slots) < n_leaves or token_slots[n_leaves - 1] != n_leaves - 1:
        raise TreeBatchError("every leaf needs a token; a leaf without one cannot be encoded")
    T = len(token_slots)
    slot_token_ids = token_ids[order[token_slots]]
    unique_token_ids, token_unique_index = np.unique(slot_token_ids, return_inverse=True)

    arrays = {
        "token_ids": token_ids,
        "has_token": has_token.astype(np.int64),
        "labels": labels,
        "levels": levels,
        "node_tree": node_tree,
        "offsets": offsets,
        "roots": offsets[1:] - 1,
        "sizes": sizes,
        "edge_src": edge_src,
        "edge_dst": edge_dst,
        "edge_pos": edge_pos,
        "order": order,
        "slot": slot,
        "level_children": level_children,
        "token_slots": token_slots,
        "slot_token_ids": slot_token_ids,
        "token_unique_index": token_unique_index,
        "unique_token_ids": unique_token_ids,
    }
    layout = []
    start = 0
    for name in _FIELDS:
        a = arrays[name]
        layout.append((name, start, a.shape))
        start += a.size
    flat = torch.from_numpy(cat([arrays[name].ravel() for name in _FIELDS]))
    meta = {
        "num_trees": B,
        "num_nodes": N,
        "max_arity": K,
        "level_offsets": tuple(int(x) for x in level_offsets),
        "num_leaves": n_leaves,
        "num_tokens": T,
        "tokens_first": bool(T == 0 or token_slots[-1] == T - 1),
        "is_binary": all(p.is_binary for p in plans),
    }
    return TreeBatch(to_device(flat, device), tuple(layout), meta)  # one transfer (pinned on a GPU)
