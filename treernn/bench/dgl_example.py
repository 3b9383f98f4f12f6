"""The benchmark's yardstick: the N-ary Tree-LSTM as DGL's own example writes it.

Legend: B sentences per batch, N nodes, n0 leaves, T token-bearing nodes, E input size,
H hidden size, C classes.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from treernn._dgl import import_dgl
from treernn.models.classifier import ClassifierOutput


class DGLExampleTreeLSTM(nn.Module):
    """The N-ary Tree-LSTM written as DGL's example writes it (the benchmark's yardstick).

    Kept as in ``dmlc/dgl`` ``examples/pytorch/tree_lstm/tree_lstm.py`` (cell maths in
    message / reduce / apply functions, ``dgl.prop_nodes_topo``), including its deviations
    from Tai et al. 2015: one ``U_f`` for both forget gates and no ``W_f x`` term.

    Inputs: a batched DGL graph (edges child -> parent) with node data ``x`` (token ids),
    ``mask`` (1 at nodes with a token), and targets ``(N,)`` (or None).
    Outputs: a :class:`~treernn.models.classifier.ClassifierOutput` (logits of every node,
    loss averaged over the nodes).
    """

    def __init__(self, vocab_size: int, x_size: int, h_size: int, num_classes: int,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.h_size = h_size
        self.embedding = nn.Embedding(vocab_size, x_size)
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(h_size, num_classes)
        self.W_iou = nn.Linear(x_size, 3 * h_size, bias=False)
        self.U_iou = nn.Linear(2 * h_size, 3 * h_size, bias=False)
        self.b_iou = nn.Parameter(torch.zeros(1, 3 * h_size))
        self.U_f = nn.Linear(2 * h_size, 2 * h_size)

    def message_func(self, edges):
        return {"h": edges.src["h"], "c": edges.src["c"]}

    def reduce_func(self, nodes):
        h_cat = nodes.mailbox["h"].view(nodes.mailbox["h"].size(0), -1)  # (n, 2H)
        f = torch.sigmoid(self.U_f(h_cat)).view(*nodes.mailbox["h"].size())  # (n, 2, H)
        c = torch.sum(f * nodes.mailbox["c"], 1)  # (n, H)
        return {"iou": self.U_iou(h_cat), "c": c}

    def apply_node_func(self, nodes):
        iou = nodes.data["iou"] + self.b_iou
        i, o, u = torch.chunk(iou, 3, 1)
        i, o, u = torch.sigmoid(i), torch.sigmoid(o), torch.tanh(u)
        c = i * u + nodes.data["c"]
        h = o * torch.tanh(c)
        return {"h": h, "c": c}

    def forward(self, g, targets: Optional[torch.Tensor] = None):
        dgl = import_dgl()
        mask = g.ndata["mask"]  # (N,)
        embeds = self.embedding(g.ndata["x"] * mask)  # (N, E)
        g.ndata["iou"] = self.W_iou(self.dropout(embeds)) * mask.float().unsqueeze(-1)
        n = g.num_nodes()
        g.ndata["h"] = embeds.new_zeros(n, self.h_size)  # the example's caller allocates these
        g.ndata["c"] = embeds.new_zeros(n, self.h_size)
        dgl.prop_nodes_topo(g, self.message_func, self.reduce_func,
                            apply_node_func=self.apply_node_func)
        logits = self.linear(self.dropout(g.ndata.pop("h")))  # (N, C)
        loss = None if targets is None else F.cross_entropy(logits, targets, ignore_index=-1)
        return ClassifierOutput(logits=logits, loss=loss, node_logits=logits)
