"""Throughput benchmark of the tree encoders (issue 6): ``treernn bench``.

Measures, in one process, on the SST training trees, training and inference sentences per
second of:

- ``tree-lstm-native``: the N-ary Tree-LSTM, native backend;
- ``tree-lstm-dgl``: the same model on the DGL backend;
- ``dgl-example``: a baseline written the way DGL's own Tree-LSTM example is
  (``examples/pytorch/tree_lstm/tree_lstm.py``): ``dgl.prop_nodes_topo`` with a message
  function, a Python reduce function over the mailbox and an apply function, the graph of a
  batch built with ``dgl.batch`` of per-tree graphs. It is the yardstick;
- ``child-sum-deps``: the Child-Sum Tree-LSTM on spaCy dependency parses of the same
  sentences (:func:`~treernn.training.tasks.dependency_versions`: parsed once before timing,
  tokens passed unescaped, nothing cached on disk; a node has the label of the SST phrase
  with the same span, if any);
- ``rntn-native``: the RNTN, native backend;
- ``bilstm``: the fused BiLSTM of the registry, loss on the sentence label only.

Also the parse-and-classify pipeline (:mod:`treernn.pipeline`): raw SST sentences (tokens
unescaped and joined by spaces) through spaCy's parser and the N-ary Tree-LSTM, sentences per
second and the share of the time in parsing (spaCy, tree conversion) and in the model (batch
building and forward, batches of 256).

Every model: E = 300 inputs, H = 150, 5 classes, dropout 0.5, AdaGrad (the trainer's
:func:`~treernn.training.trainer.build_optimizer` and gradient clipping), loss on every node
for tree models. A timed step includes building the batch from per-sentence data prepared
once (:func:`~treernn.batching.plan_tree` plans, per-tree DGL graphs, token lists), as a
training loop does. Also measured: the float32 matrix-multiply peak of the machine, the share
of it each model's own matrix work reaches (FLOPs counted analytically), and peak memory.

Noise (a shared machine): the measurements are interleaved. Each round measures every
configuration, batch size and phase for a short slice of time (and the matmul peak). Around
every slice a probe times a fixed burst of small multi-threaded operations; on a machine
whose cores are shared, PyTorch's threads then wait for each other at every operation and
the probe is many times slower than its best. A slice is *calm* when the probes before and
after it are within ``calm_factor`` of the best probe of the run; rounds go on (within the
time budget) until every measurement has ``rounds`` calm slices, and each result is the
median over its calm slices (over all its slices, flagged, when it has none).

Legend: B sentences per batch, N nodes, n0 leaves, T token-bearing nodes, E input size,
H hidden size, C classes.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import platform
import random
import statistics
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from treernn.errors import TreernnError


class BenchError(TreernnError):
    """A benchmark that cannot run as asked (e.g. ``--device cuda`` without CUDA)."""


# --------------------------------------------------------------------------- settings
@dataclass
class BenchConfig:
    """Settings of one benchmark run.

    Attributes:
        quick: a smoke run (a few hundred trees, one timed batch per measurement).
        batch_sizes: B values to measure.
        device: ``cpu`` or ``cuda``.
        data_path: the SST folder (None: ``$TREERNN_DATA`` or the cache, see ``load_sst``).
        vectors: a 300-d vector file to initialise the embeddings (None: random vectors; the
            values do not change the cost).
        threads: ``torch.set_num_threads`` (None: leave PyTorch's setting).
        rounds: calm slices wanted per measurement (the result is their median).
        train_seconds, infer_seconds: the timed slice of one measurement in one round (at
            least one batch).
        max_seconds: a measurement whose slices took this long in all gets no more rounds
            (slow configurations: fewer slices).
        time_budget: no new round starts once the run has taken this long, or would with
            one more round like the last (None: no limit; at least one round always runs).
        calm_factor: a slice is calm when the probes around it take at most this times the
            best probe of the run.
        warmup_batches: untimed batches of ``min(B, 25)`` sentences before a measurement's
            first slice.
        max_trees: sentences used (None: all training trees).
        dependency_trees: sentences parsed with spaCy for ``child-sum-deps`` (cycled).
        configs: which configurations to run (None: all of :data:`CONFIGS`).
        pipeline_sentences: sentences for the parse-and-classify pipeline measurement (0: skip).
    """

    quick: bool = False
    batch_sizes: tuple[int, ...] = (25, 256)
    device: str = "cpu"
    data_path: Optional[str] = None
    vectors: Optional[str] = None
    threads: Optional[int] = None
    input_dim: int = 300
    hidden_dim: int = 150
    num_classes: int = 5
    rounds: int = 5
    train_seconds: float = 1.5
    infer_seconds: float = 0.75
    max_seconds: float = 20.0
    time_budget: Optional[float] = 540.0
    calm_factor: float = 3.0
    warmup_batches: int = 2
    max_trees: Optional[int] = None
    dependency_trees: int = 2000
    seed: int = 0
    configs: Optional[tuple[str, ...]] = None
    pipeline_sentences: int = 1000

    @classmethod
    def quick_run(cls, **changes: Any) -> "BenchConfig":
        """The ``--quick`` settings (a smoke run, well under a minute): 200 trees, batch sizes
        4 and 16 (the RNTN's training is slow), one round of one warm-up and one timed batch,
        one thread (a busy shared machine slows multi-threaded PyTorch down many times)."""
        settings = dict(quick=True, batch_sizes=(4, 16), threads=1, rounds=1,
                        train_seconds=0.0, infer_seconds=0.0, time_budget=0.0, warmup_batches=1,
                        max_trees=200, dependency_trees=200, pipeline_sentences=50)
        settings.update(changes)
        return cls(**settings)


CONFIGS = {
    "tree-lstm-native": "N-ary Tree-LSTM, native backend, SST trees, loss on every node",
    "tree-lstm-dgl": "N-ary Tree-LSTM, DGL backend, SST trees, loss on every node",
    "dgl-example": "DGL example's Tree-LSTM (prop_nodes_topo, Python reduce), loss on every node",
    "child-sum-deps": "Child-Sum Tree-LSTM, spaCy dependency trees, loss on labelled nodes",
    "rntn-native": "RNTN, native backend, SST trees, loss on every node",
    "bilstm": "fused BiLSTM (nn.LSTM), loss on the sentence label only",
}

MEMORY_NOTE_CPU = (
    "peak RSS increase of the process during a measurement's slice (VmHWM reset through "
    "/proc/self/clear_refs after gc and malloc_trim, minus the RSS at the slice's start), the "
    "largest over the rounds; optimizer state made in the first slice counts there; memory "
    "the allocator kept from earlier slices can make it an underestimate"
)
MEMORY_NOTE_CUDA = ("torch.cuda.max_memory_allocated during a measurement's slice minus the "
                    "memory allocated at its start, the largest over the rounds")


# --------------------------------------------------------------------------- the DGL example
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
        from treernn._dgl import import_dgl
        from treernn.models.classifier import ClassifierOutput

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


# --------------------------------------------------------------------------- workloads
@dataclass
class _Workload:
    """One configuration, ready to time: a model, per-sentence items, how to batch them."""

    name: str
    model: nn.Module
    items: list  # per-sentence data prepared once (plans, graphs, token lists)
    collate: Callable[[list], tuple[Any, torch.Tensor]]  # items -> (batch on device, targets)
    flops: Callable[[list], float]  # analytic forward matmul FLOPs of a batch of items
    note: str = ""
    infer_flops: Optional[Callable[[list], float]] = None  # when inference does less


def _tree_flops(kind: str, E: int, H: int, C: int, g_leaf: int,
                g_int: int, leaves: bool = True) -> Callable[[list], float]:
    """Forward matmul FLOPs of a tree model on a batch of :class:`TreePlan` items.

    ``g_leaf``, ``g_int``: the widths of the cell's input projections of leaves and of
    internal nodes with a token (the cell's ``leaf_projection_size`` / ``projection_size``).
    ``leaves=False``: without the leaves' projections (native inference reads leaf states
    from a per-word table).
    """

    def count(plans: list) -> float:
        N = sum(p.n for p in plans)
        T = sum(int(p.has_token.sum()) for p in plans)
        n0 = sum(int((p.heights == 0).sum()) for p in plans)
        N_int, edges = N - n0, N - len(plans)
        proj = 2 * n0 * E * g_leaf * leaves + 2 * (T - n0) * E * g_int  # W x of token nodes
        head = 2 * N * H * C
        if kind == "nary-tree-lstm":  # [h1; h2] (2H) @ (2H, 5H) per internal node
            return proj + 2 * N_int * 2 * H * 5 * H + head
        if kind == "child-sum-tree-lstm":  # U_iou on the child sum; U_f on every child (edge)
            return proj + 2 * N_int * H * 3 * H + 2 * edges * H * H + head
        if kind == "rntn":  # W [c1; c2] and the tensor term z^T V^[k] z (2H x 2H, H slices)
            return proj + 2 * N_int * 2 * H * H + 2 * N_int * H * (2 * H) ** 2 + head
        if kind == "dgl-example":  # W_iou on every node (masked); U_iou, U_f per internal node
            return 2 * N * E * 3 * H + 2 * N_int * 2 * H * (3 * H + 2 * H) + head
        raise ValueError(kind)

    return count


def _bilstm_flops(E: int, H: int, C: int) -> Callable[[list], float]:
    def count(token_lists: list) -> float:
        L = sum(len(t) for t in token_lists)
        return 2 * 2 * L * (E + H) * 4 * H + 2 * len(token_lists) * 2 * H * C  # 2 directions

    return count


def _pool_batches(items: list, batch_size: int):
    """Endless consecutive batches of ``items``, wrapping around."""
    i, n = 0, len(items)
    while True:
        if i + batch_size <= n:
            yield items[i:i + batch_size]
        else:
            yield items[i:] + items[: batch_size - (n - i)] if batch_size <= n else items
        i = (i + batch_size) % n


# --------------------------------------------------------------------------- measurements
def _libc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _proc_status_kb(key: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class _PeakMemory:
    """Peak memory of one phase (see ``MEMORY_NOTE_CPU`` / ``MEMORY_NOTE_CUDA``)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def __enter__(self) -> "_PeakMemory":
        gc.collect()
        self.mb: Optional[float] = None
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
            return self
        _libc_trim()
        self.start = _proc_status_kb("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM (peak RSS) to the current RSS
        except OSError:
            self.start = None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.mb = (torch.cuda.max_memory_allocated(self.device) - self.start) / 2**20
        elif self.start is not None:
            peak = _proc_status_kb("VmHWM")
            if peak is not None:
                self.mb = max(0, peak - self.start) / 1024


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_slice(step: Callable[[list], None], batches, device: torch.device,
                seconds: float) -> tuple[float, list]:
    """Runs ``step`` on batches until ``seconds`` have passed (at least one batch). Returns
    the time spent in the steps (device synchronised after each) and the batches done."""
    spent, done = 0.0, []
    _sync(device)
    while True:
        items = next(batches)
        t0 = time.perf_counter()
        step(items)
        _sync(device)
        spent += time.perf_counter() - t0
        done.append(items)
        if spent >= seconds:
            return spent, done


def matmul_peak(device: torch.device, shapes: Sequence[tuple[int, int, int]],
                seconds: float = 0.3, repeats: int = 5) -> dict:
    """float32 ``torch.mm`` GFLOP/s of ``(m, k) @ (k, n)`` for each shape (median of
    ``repeats`` timings of ~``seconds / repeats`` each), and the largest as ``peak_gflops``."""
    rows = []
    for m, k, n in shapes:
        a = torch.randn(m, k, device=device)
        b = torch.randn(k, n, device=device)
        out = torch.empty(m, n, device=device)
        for _ in range(3):
            torch.mm(a, b, out=out)
        _sync(device)
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        _sync(device)
        one = max(time.perf_counter() - t0, 1e-7)
        iters = max(1, int(seconds / repeats / one))
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(iters):
                torch.mm(a, b, out=out)
            _sync(device)
            rates.append(2 * m * k * n * iters / (time.perf_counter() - t0) / 1e9)
        rows.append({"m": m, "k": k, "n": n, "gflops": round(statistics.median(rates), 1)})
    return {"shapes": rows, "peak_gflops": max(r["gflops"] for r in rows)}


# --------------------------------------------------------------------------- data
def _machine_info(device: torch.device) -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": (len(os.sched_getaffinity(0))
                             if hasattr(os, "sched_getaffinity") else None),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
    }
    try:
        from treernn._dgl import import_dgl

        info["dgl"] = import_dgl().__version__
    except TreernnError as exc:
        info["dgl"] = f"unavailable ({exc})"
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _resolve_device(name: str) -> torch.device:
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise BenchError(f"unknown device {name!r}; use cpu or cuda")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda: CUDA is not available here "
                         "(torch.cuda.is_available() is False); use --device cpu")
    return device


@dataclass
class _Data:
    trees: list  # SST training trees (shuffled, possibly cut)
    tokens: list  # their token lists (as in the treebank)
    dependency_trees: list  # spaCy parses of the first sentences, span-matched labels
    vocab: Any
    vectors: Optional[np.ndarray]
    timings: dict = field(default_factory=dict)


def _load_data(cfg: BenchConfig, log: Callable[[str], None]) -> _Data:
    from treernn.corpora import load_sst
    from treernn.training.tasks import dependency_versions
    from treernn.vocab import Vocab, load_vectors

    timings = {}
    t0 = time.perf_counter()
    trees = list(load_sst(cfg.data_path).train)
    random.Random(cfg.seed).shuffle(trees)
    if cfg.max_trees is not None:
        trees = trees[: cfg.max_trees]
    tokens = [tree.tokens() for tree in trees]
    timings["load_sst_s"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    deps = []
    if "child-sum-deps" in (cfg.configs or CONFIGS):  # spaCy; tokens unescaped; nothing cached
        # spaCy takes no token with whitespace inside; SST has a few (e.g. '8\xa01/2').
        parseable = [t for t, toks in zip(trees, tokens)
                     if not any(ch.isspace() for tok in toks for ch in tok)]
        deps = dependency_versions(parseable[: cfg.dependency_trees])
    timings["spacy_parse_s"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    vocab = Vocab.build(tokens)
    vectors = None
    if cfg.vectors is not None:
        vectors, coverage = load_vectors(cfg.vectors, vocab, cfg.input_dim)
        log(f"bench: {coverage}")
    timings["vocab_vectors_s"] = round(time.perf_counter() - t0, 2)
    return _Data(trees, tokens, deps, vocab, vectors, timings)


def _build_workload(name: str, cfg: BenchConfig, data: _Data, plans: list,
                    device: torch.device) -> _Workload:
    """The configuration ``name`` (see :data:`CONFIGS`), its model on ``device``."""
    from treernn.batching import batch_trees, plan_tree
    from treernn.batching.sequence import batch_sequences
    from treernn.encoders.registry import build_encoder
    from treernn.encoders.tree import TreeEncoder
    from treernn.models.classifier import SequenceClassifier, TreeClassifier

    E, H, C, V, vocab = cfg.input_dim, cfg.hidden_dim, cfg.num_classes, len(data.vocab), data.vocab

    def init(model: nn.Module) -> nn.Module:
        emb = model.encoder.embedding if hasattr(model, "encoder") else model.embedding
        if data.vectors is not None:
            with torch.no_grad():
                emb.weight.copy_(torch.from_numpy(data.vectors))
        return model.to(device)

    def tree_collate(items):
        batch = batch_trees(items, device=device)
        return batch, batch.labels

    def tree_model(cell, backend):
        return init(TreeClassifier(TreeEncoder(V, E, H, cell=cell, backend=backend), C, 0.5))

    def flops(model, kind, leaves=True):
        cell = model.encoder.cell
        g_leaf = getattr(cell, "leaf_projection_size", cell.projection_size)
        return _tree_flops(kind, E, H, C, g_leaf, cell.projection_size, leaves)

    def infer_flops(model, kind):  # native inference: leaf states from the per-word table
        return flops(model, kind, leaves=model.encoder.backend != "native")

    if name in ("tree-lstm-native", "tree-lstm-dgl"):
        model = tree_model("nary-tree-lstm", name.rsplit("-", 1)[1])
        return _Workload(name, model, plans, tree_collate, flops(model, "nary-tree-lstm"),
                         infer_flops=infer_flops(model, "nary-tree-lstm"))
    if name == "dgl-example":
        from treernn._dgl import import_dgl

        dgl = import_dgl(device)
        graphs = []
        for p in plans:  # per-tree graphs, built once (as the example's dataset does)
            g = dgl.graph((torch.from_numpy(p.edge_child), torch.from_numpy(p.edge_parent)),
                          num_nodes=p.n)  # edges child -> parent
            g.ndata["x"] = torch.from_numpy(p.token_ids)  # (n,)
            g.ndata["y"] = torch.from_numpy(p.labels)  # (n,)
            g.ndata["mask"] = torch.from_numpy(p.has_token.astype(np.int64))  # (n,)
            graphs.append((g, p))

        def graph_collate(items):
            g = dgl.batch([g for g, _ in items]).to(device)  # per batch, as in the example
            return g, g.ndata["y"]

        count = _tree_flops("dgl-example", E, H, C, 3 * H, 3 * H)
        return _Workload(name, init(DGLExampleTreeLSTM(V, E, H, C)), graphs, graph_collate,
                         lambda items: count([p for _, p in items]))
    if name == "child-sum-deps":
        dep_plans = [plan_tree(t, vocab) for t in data.dependency_trees]
        model = tree_model("child-sum-tree-lstm", "native")
        return _Workload(name, model, dep_plans, tree_collate, flops(model, "child-sum-tree-lstm"),
                         infer_flops=infer_flops(model, "child-sum-tree-lstm"),
                         note=f"{len(dep_plans)} spaCy parses, cycled; a node has the label "
                              "of the SST phrase with its span, else none (no loss there)")
    if name == "rntn-native":
        model = tree_model("rntn", "native")
        return _Workload(name, model, plans, tree_collate, flops(model, "rntn"),
                         infer_flops=infer_flops(model, "rntn"))
    if name == "bilstm":
        model = init(SequenceClassifier(build_encoder("bilstm", V, E, H), C, 0.5))
        labels = {id(t): int(tree.label) for t, tree in zip(data.tokens, data.trees)}

        def seq_collate(items):
            batch = batch_sequences(items, vocab, device=device)
            targets = torch.tensor([labels[id(t)] for t in items], device=device)  # (B,)
            return batch, targets

        return _Workload(name, model, data.tokens, seq_collate, _bilstm_flops(E, H, C),
                         note="loss on the sentence label only")
    raise BenchError(f"unknown configuration {name!r}; known: {', '.join(CONFIGS)}")


# --------------------------------------------------------------------------- running
class _Probe:
    """Milliseconds of a fixed burst of small multi-threaded operations (see the module
    docstring): a few milliseconds on an idle machine, seconds when its cores are shared."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.x = torch.randn(400, 150, device=device)  # above PyTorch's parallel grain size
        self.y = torch.empty_like(self.x)
        self.best = math.inf

    def __call__(self) -> float:
        _sync(self.device)
        t0 = time.perf_counter()
        for _ in range(100):
            torch.sigmoid(self.x, out=self.y).mul_(self.x)
        _sync(self.device)
        ms = (time.perf_counter() - t0) * 1000
        self.best = min(self.best, ms)
        return ms


class _Series:
    """One measurement (configuration x batch size x phase): its slices over the rounds."""

    def __init__(self, workload: _Workload, batch_size: int, phase: str,
                 step: Callable[[list], None]) -> None:
        self.workload, self.batch_size, self.phase, self.step = workload, batch_size, phase, step
        self.batches = _pool_batches(workload.items, batch_size)
        self.slices: list[dict] = []
        self.spent = 0.0
        self.warm = False

    def calm(self, best: float, factor: float) -> list[dict]:
        return [s for s in self.slices if max(s["probe_ms"]) <= factor * best]

    def measure(self, cfg: BenchConfig, device: torch.device, peak_gflops: float,
                probe: _Probe) -> None:
        seconds = cfg.train_seconds if self.phase == "train" else cfg.infer_seconds
        self.workload.model.train(self.phase == "train")
        if not self.warm:  # small batches: the code paths, lazy state, without the cost
            for _ in range(cfg.warmup_batches):
                self.step(self.workload.items[: min(self.batch_size, 25)])
            _sync(device)
            self.warm = True
        before = probe()
        with _PeakMemory(device) as mem:
            spent, done = _time_slice(self.step, self.batches, device, seconds)
        after = probe()
        n = sum(len(items) for items in done)
        # Training: forward + backward, whose matmuls are two per forward one: 3x forward.
        count = self.workload.flops
        if self.phase != "train" and self.workload.infer_flops is not None:
            count = self.workload.infer_flops
        flops = (3 if self.phase == "train" else 1) * sum(count(d) for d in done)
        self.spent += spent
        self.slices.append({
            "sentences_per_s": n / spent, "model_gflops": flops / spent / 1e9,
            "share_of_peak": flops / spent / 1e9 / peak_gflops, "peak_memory_mb": mem.mb,
            "probe_ms": (before, after), "sentences": n, "batches": len(done),
            "seconds": spent, "flops": flops,
        })

    def result(self, best: float, factor: float) -> dict:
        calm = self.calm(best, factor)
        used = calm or self.slices
        median = statistics.median
        memory = [s["peak_memory_mb"] for s in self.slices if s["peak_memory_mb"] is not None]
        return {
            "sentences_per_s": round(median(s["sentences_per_s"] for s in used), 1),
            "model_gflops": round(median(s["model_gflops"] for s in used), 2),
            "share_of_peak": round(median(s["share_of_peak"] for s in used), 4),
            "peak_memory_mb": round(max(memory), 1) if memory else None,
            "calm_slices": len(calm),
            "slices": len(self.slices),
            "batches": sum(s["batches"] for s in self.slices),
            "sentences": sum(s["sentences"] for s in self.slices),
            "seconds": round(self.spent, 3),
            "flops_per_sentence": round(sum(s["flops"] for s in self.slices)
                                        / sum(s["sentences"] for s in self.slices)),
            "per_slice": [{"sentences_per_s": round(s["sentences_per_s"], 1),
                           "probe_ms": [round(p, 1) for p in s["probe_ms"]],
                           "calm": s in calm} for s in self.slices],
        }


def _steps(w: _Workload) -> tuple[Callable[[list], None], Callable[[list], None]]:
    """The training step (as the trainer's: loss read, clipping, AdaGrad) and the inference
    step of a workload, both building their batch."""
    from treernn.training.trainer import TrainConfig, build_optimizer, clip_grad_norm

    train_cfg = TrainConfig()
    optimizers = [o for o in build_optimizer(w.model, train_cfg) if o is not None]
    model = w.model

    def train_step(items):
        batch, targets = w.collate(items)
        loss = model(batch, targets).loss
        float(loss.detach())  # the trainer reads the loss every step (one host sync)
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        if train_cfg.clip_norm:
            clip_grad_norm(model.parameters(), train_cfg.clip_norm)
        for opt in optimizers:
            opt.step()

    def infer_step(items):
        batch, _ = w.collate(items)
        with torch.inference_mode():
            model(batch).logits.argmax(-1)

    return train_step, infer_step


def _rate(rows: list[dict], config: str, B: int, phase: str) -> Optional[float]:
    for r in rows:
        if r["config"] == config and r["batch_size"] == B and phase in r:
            return r[phase]["sentences_per_s"]
    return None


def _ratios(rows: list[dict], batch_sizes: Sequence[int]) -> list[dict]:
    out = []
    pairs = (("tree-lstm-native", "dgl-example"), ("tree-lstm-native", "tree-lstm-dgl"),
             ("tree-lstm-native", "bilstm"))
    for B in batch_sizes:
        for a, b in pairs:
            for phase in ("train", "infer"):
                x, y = _rate(rows, a, B, phase), _rate(rows, b, B, phase)
                if x and y:
                    out.append({"what": f"{a} / {b}", "batch_size": B, "phase": phase,
                                "ratio": round(x / y, 2)})
    return out


def _targets(rows: list[dict]) -> list[dict]:
    """Issue 6's targets for the native Tree-LSTM, checked on this run."""
    checks = []

    def add(what: str, value: Optional[float], goal: float) -> None:
        if value is not None:
            checks.append({"target": what, "value": round(value, 2), "goal": goal,
                           "met": bool(value >= goal)})

    nat = "tree-lstm-native"
    t25, t256 = _rate(rows, nat, 25, "train"), _rate(rows, nat, 256, "train")
    base25, bi256 = _rate(rows, "dgl-example", 25, "train"), _rate(rows, "bilstm", 256, "train")
    add("train B=25 / dgl-example train B=25", t25 / base25 if t25 and base25 else None, 3.0)
    add("train B=25 sentences/s", t25, 1500.0)
    add("train B=256 sentences/s", t256, 2000.0)
    add("train B=256 / bilstm train B=256", t256 / bi256 if t256 and bi256 else None, 1.0)
    for r in rows:
        if r["config"] == nat:
            add(f"infer / train B={r['batch_size']}", r["infer_over_train"], 3.0)
    return checks


def run_benchmark(cfg: BenchConfig, log: Callable[[str], None] = lambda m: None) -> dict:
    """Runs the benchmark and returns its report (JSON-ready; see :func:`format_table`).

    Raises:
        BenchError: an unknown device or configuration, or ``cuda`` without CUDA.
    """
    device = _resolve_device(cfg.device)
    names = tuple(cfg.configs or CONFIGS)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise BenchError(f"unknown configuration {unknown[0]!r}; known: {', '.join(CONFIGS)}")
    if not cfg.batch_sizes or min(cfg.batch_sizes) < 1:
        raise BenchError(f"batch sizes must be positive integers, got {cfg.batch_sizes}")
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, device, names, log)
    finally:
        torch.set_num_threads(threads)  # the caller's setting again


def _run(cfg: BenchConfig, device: torch.device, names: tuple,
         log: Callable[[str], None]) -> dict:
    from treernn.batching import plan_tree

    torch.manual_seed(cfg.seed)
    start = time.perf_counter()
    machine = _machine_info(device)
    with warnings.catch_warnings():
        # DGL warns on every frontier without edges (the leaves) in prop_nodes_topo; PyTorch on
        # sparse gradients without invariant checks (the trainer's sparse embeddings).
        warnings.filterwarnings("ignore", message=".*does not contain valid edges")
        warnings.filterwarnings("ignore", message="Sparse invariant checks")
        data = _load_data(cfg, log)
        plans = [plan_tree(t, data.vocab) for t in data.trees]
        series, skipped, configs = [], {}, {}
        for name in names:
            try:
                w = _build_workload(name, cfg, data, plans, device)
            except TreernnError as exc:  # e.g. a CPU-only DGL build with --device cuda
                skipped[name] = str(exc)
                log(f"bench: {name} skipped: {exc}")
                continue
            configs[name] = CONFIGS[name] + (f" ({w.note})" if w.note else "")
            train_step, infer_step = _steps(w)
            for B in cfg.batch_sizes:
                series += [_Series(w, B, "train", train_step), _Series(w, B, "infer", infer_step)]

        H, E = cfg.hidden_dim, cfg.input_dim
        shapes = [(256, 2 * H, 5 * H), (1024, 2 * H, 5 * H), (4096, 2 * H, 5 * H),
                  (4096, E, 3 * H), (2048, 2048, 2048)]
        probe, peaks, factor = _Probe(device), [], cfg.calm_factor
        probe()
        for r in range(10 * max(1, cfg.rounds)):
            t0 = time.perf_counter()
            before = probe()
            peak = matmul_peak(device, shapes, seconds=0.05 if cfg.quick else 0.3, repeats=3)
            peak["probe_ms"] = (before, probe())
            peaks.append(peak)
            for s in series:
                if s.spent < cfg.max_seconds and len(s.calm(probe.best, factor)) < cfg.rounds:
                    s.measure(cfg, device, peak["peak_gflops"], probe)
            took, elapsed = time.perf_counter() - t0, time.perf_counter() - start
            wanting = sum(s.spent < cfg.max_seconds and len(s.calm(probe.best, factor)) < cfg.rounds
                          for s in series)
            log(f"bench: round {r + 1} ({took:.0f} s): matmul peak {peak['peak_gflops']:.1f} "
                f"GFLOP/s, probe best {probe.best:.1f} ms, {wanting} measurements want more "
                "calm slices")
            if not wanting or cfg.time_budget is None or elapsed + took > cfg.time_budget:
                break

    pipeline = _pipeline_throughput(cfg, data, device, log) if cfg.pipeline_sentences else None
    best = probe.best
    calm_peaks = [p for p in peaks if max(p["probe_ms"]) <= factor * best] or peaks
    rows = []
    for s in series:
        if s.phase == "train":
            rows.append({"config": s.workload.name, "batch_size": s.batch_size})
        rows[-1][s.phase] = s.result(best, factor)
    for row in rows:
        row["infer_over_train"] = round(
            row["infer"]["sentences_per_s"] / row["train"]["sentences_per_s"], 2)
    peak = {
        "peak_gflops": round(statistics.median(p["peak_gflops"] for p in calm_peaks), 1),
        "shapes": [dict(m=m, k=k, n=n, gflops=round(statistics.median(
            p["shapes"][i]["gflops"] for p in calm_peaks), 1))
            for i, (m, k, n) in enumerate(shapes)],
        "rounds": [p["peak_gflops"] for p in peaks],
        "calm_rounds": len(calm_peaks) if calm_peaks is not peaks else 0,
    }
    settings = asdict(cfg)
    settings.update(optimizer="AdaGrad (TrainConfig defaults: lr 0.05, embeddings 0.1 with "
                              "sparse gradients, L2 1e-4, clip norm 5)",
                    dropout=0.5, loss_on="every node (trees); the sentence label (bilstm)")
    return {
        "machine": machine,
        "settings": settings,
        "data": {"trees": len(data.trees), "dependency_trees": len(data.dependency_trees),
                 "vocab": len(data.vocab),
                 "mean_nodes": round(float(np.mean([p.n for p in plans])), 1),
                 "mean_tokens": round(float(np.mean([len(t) for t in data.tokens])), 1),
                 **data.timings},
        "configs": configs,
        "matmul_peak": peak,
        "method": ("sentences/s: sentences over the time of their steps (batch building, "
                   "forward, loss, backward, clipping, AdaGrad; inference: batch building and "
                   "forward) in a slice; one slice per round; the median over the calm slices "
                   "(probes around the slice within calm_factor of the best probe)"),
        "probe": {"best_ms": round(best, 2), "calm_factor": factor,
                  "what": "100x (sigmoid + mul) on a 400x150 float32 tensor"},
        "rounds": len(peaks),
        "memory_measure": MEMORY_NOTE_CUDA if device.type == "cuda" else MEMORY_NOTE_CPU,
        "flops_measure": ("matmul FLOPs counted analytically per batch (input projections of "
                          "the token-bearing nodes, per-level recurrent matmuls, softmax head); "
                          "training = 3x forward; native inference without the leaves' "
                          "projections (their states come from a per-word table, rebuilt "
                          "after each training slice, inside the timed slice); share = model "
                          "GFLOP/s over the same round's matmul peak, median over the calm "
                          "slices"),
        "results": rows,
        "skipped": skipped,
        "pipeline": pipeline,
        "ratios": _ratios(rows, cfg.batch_sizes),
        "targets": _targets(rows),
        "total_seconds": round(time.perf_counter() - start, 1),
    }


def _pipeline_throughput(cfg: BenchConfig, data: _Data, device: torch.device,
                         log: Callable[[str], None]) -> dict:
    """Text in, labels out: spaCy parse + N-ary Tree-LSTM over raw SST sentences, best of 3."""
    from treernn.models.build import ModelConfig, build_model
    from treernn.pipeline import Predictor
    from treernn.trees import unescape_token

    texts = [" ".join(unescape_token(t) for t in toks) for toks in data.tokens[: cfg.pipeline_sentences]]
    model = build_model(ModelConfig(vocab_size=len(data.vocab), input_dim=cfg.input_dim,
                                    hidden_dim=cfg.hidden_dim, num_classes=cfg.num_classes))
    predictor = Predictor(model.to(device), data.vocab, batch_size=256)
    predictor.trees(texts[:8])  # load spaCy and warm up before timing
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        per_text = predictor.trees(texts)
        t1 = time.perf_counter()
        trees = [t for ts in per_text for t in ts]
        predictor.predict_trees(trees)
        _sync(device)
        t2 = time.perf_counter()
        runs.append((t1 - t0, t2 - t1, len(trees)))
    parse_s, model_s, sentences = min(runs, key=lambda r: r[0] + r[1])
    total = parse_s + model_s
    result = {"texts": len(texts), "sentences": sentences,
              "sentences_per_s": round(sentences / total, 1),
              "parse_seconds": round(parse_s, 3), "model_seconds": round(model_s, 3),
              "parse_share": round(parse_s / total, 3), "model_share": round(model_s / total, 3),
              "model_sentences_per_s": round(sentences / model_s, 1),
              "what": "spaCy en_core_web_sm parse + dependency_to_phrase, then N-ary Tree-LSTM "
                      "(E 300, H 150) forward and softmax on every node, batches of 256; best of 3"}
    log(f"bench: pipeline {result['sentences_per_s']:.0f} sentences/s, parsing "
        f"{100 * result['parse_share']:.0f}%, model {100 * result['model_share']:.0f}%")
    return result


def format_table(report: dict) -> str:
    """The report as a plain-text table, ratios and target checks."""
    m, peak = report["machine"], report["matmul_peak"]
    lines = [
        f"treernn bench on {m['cpu_model']} ({m['cpu_cores']} cores, {m['torch_threads']} torch "
        f"threads), device {m['device']}, torch {m['torch']}, dgl {m['dgl']}; "
        f"{report['rounds']} rounds, probe best {report['probe']['best_ms']:.1f} ms",
        f"matmul peak {peak['peak_gflops']:.1f} GFLOP/s ("
        + ", ".join(f"{r['m']}x{r['k']}@{r['k']}x{r['n']}: {r['gflops']:.1f}"
                    for r in peak["shapes"]) + f"; {peak['calm_rounds']} calm rounds)",
        "",
        f"{'config':<17} {'B':>4} {'train sent/s':>13} {'infer sent/s':>13} {'inf/train':>9} "
        f"{'train GF/s':>10} {'%peak':>6} {'infer GF/s':>10} {'%peak':>6} {'mem MB t/i':>11} "
        f"{'calm t/i':>9}",
    ]

    def mb(x):
        return "n/a" if x is None else f"{x:.0f}"

    for r in report["results"]:
        t, i = r["train"], r["infer"]
        calm = f"{t['calm_slices']}/{t['slices']} {i['calm_slices']}/{i['slices']}"
        lines.append(
            f"{r['config']:<17} {r['batch_size']:>4} {t['sentences_per_s']:>13,.1f} "
            f"{i['sentences_per_s']:>13,.1f} {r['infer_over_train']:>8.2f}x "
            f"{t['model_gflops']:>10.2f} {100 * t['share_of_peak']:>5.1f}% "
            f"{i['model_gflops']:>10.2f} {100 * i['share_of_peak']:>5.1f}% "
            f"{mb(t['peak_memory_mb']) + '/' + mb(i['peak_memory_mb']):>11} {calm:>9}")
    for name, why in report["skipped"].items():
        lines.append(f"{name:<17} skipped: {why}")
    pipe = report.get("pipeline")
    if pipe:
        lines += ["", f"pipeline (text in, a label per phrase out; {pipe['sentences']} sentences): "
                      f"{pipe['sentences_per_s']:,.1f} sentences/s; parsing {100 * pipe['parse_share']:.0f}% "
                      f"of the time, model {100 * pipe['model_share']:.0f}% "
                      f"(model alone {pipe['model_sentences_per_s']:,.0f} sentences/s)"]
    lines += ["", "ratios (same run):"]
    for r in report["ratios"]:
        lines.append(f"  {r['what']:<34} B={r['batch_size']:<4} {r['phase']:<5} {r['ratio']:.2f}x")
    if report["targets"]:
        lines += ["", "targets (native Tree-LSTM):"]
    for c in report["targets"]:
        lines.append(f"  {c['target']:<40} {c['value']:>10,.2f}  goal >= {c['goal']:,.0f}  "
                     f"{'met' if c['met'] else 'MISSED'}")
    lines += ["", f"method: {report['method']}; calm t/i: calm slices of all (train, infer); "
                  "a result without calm slices is the median of all its slices",
              "bilstm: loss on the sentence label only",
              f"memory: {report['memory_measure']}",
              f"FLOPs: {report['flops_measure']}",
              f"total {report['total_seconds']:.0f} s"]
    return "\n".join(lines)


def bench_config(quick: bool = False, batch_sizes: Optional[str] = None, device: str = "cpu",
                 data_path: Optional[str] = None, vectors: Optional[str] = None,
                 threads: Optional[int] = None, configs: Optional[str] = None) -> BenchConfig:
    """A :class:`BenchConfig` from command-line values (``batch_sizes`` like ``"25,256"``).

    Raises:
        BenchError: batch sizes that are not positive integers, or threads < 1.
    """
    changes: dict = {"device": device, "data_path": data_path, "vectors": vectors}
    if threads is not None:  # else the default of the mode (--quick: one thread)
        changes["threads"] = threads
    if batch_sizes is not None:
        try:
            sizes = tuple(int(x) for x in batch_sizes.split(",") if x.strip())
        except ValueError:
            sizes = ()
        if not sizes or min(sizes) < 1:
            raise BenchError(f"--batch-sizes must be positive integers like 25,256, "
                             f"got {batch_sizes!r}")
        changes["batch_sizes"] = sizes
    if configs is not None:
        changes["configs"] = tuple(c.strip() for c in configs.split(",") if c.strip())
    if threads is not None and threads < 1:
        raise BenchError(f"--threads must be >= 1, got {threads}")
    return BenchConfig.quick_run(**changes) if quick else BenchConfig(**changes)


def write_json(report: dict, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


__all__ = ["BenchConfig", "BenchError", "CONFIGS", "DGLExampleTreeLSTM", "bench_config",
           "format_table", "matmul_peak", "run_benchmark", "write_json"]
