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
  sentences (parsed once, before timing; tokens passed unescaped);
- ``rntn-native``: the RNTN, native backend;
- ``bilstm``: the fused BiLSTM of the registry, loss on the sentence label only.

Every model: E = 300 inputs, H = 150, 5 classes, dropout 0.5, AdaGrad (the trainer's
:func:`~treernn.training.trainer.build_optimizer` and gradient clipping), loss on every node
for tree models. A timed step includes building the batch from per-sentence data prepared
once (:func:`~treernn.batching.plan_tree` plans, per-tree DGL graphs, token lists), as a
training loop does. Also measured: the float32 matrix-multiply peak of the machine, the share
of it each model's own matrix work reaches (FLOPs counted analytically), and peak memory.

Legend: B sentences per batch, N nodes, T token-bearing nodes, E input size, H hidden size,
C classes.
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
        train_seconds, infer_seconds: time budget of each timed phase (after warm-up).
        min_batches: timed batches at least (grouped into up to ``repeats`` repetitions).
        warmup_batches: untimed batches before each phase.
        max_trees: sentences used (None: all training trees).
        dependency_trees: sentences parsed with spaCy for ``child-sum-deps`` (cycled).
        configs: which configurations to run (None: all).
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
    train_seconds: float = 10.0
    infer_seconds: float = 5.0
    min_batches: int = 5
    repeats: int = 5
    warmup_batches: int = 2
    max_trees: Optional[int] = None
    dependency_trees: int = 2000
    seed: int = 0
    configs: Optional[tuple[str, ...]] = None

    @classmethod
    def quick_run(cls, **changes: Any) -> "BenchConfig":
        """The ``--quick`` settings: 200 trees, one warm-up and one timed batch."""
        settings = dict(quick=True, train_seconds=0.0, infer_seconds=0.0, min_batches=1,
                        repeats=1, warmup_batches=1, max_trees=200, dependency_trees=200)
        settings.update(changes)
        return cls(**settings)


CONFIGS = {
    "tree-lstm-native": "N-ary Tree-LSTM, native backend, SST trees, loss on every node",
    "tree-lstm-dgl": "N-ary Tree-LSTM, DGL backend, SST trees, loss on every node",
    "dgl-example": "DGL example's Tree-LSTM (prop_nodes_topo, Python reduce), loss on every node",
    "child-sum-deps": "Child-Sum Tree-LSTM, spaCy dependency trees, loss on every node",
    "rntn-native": "RNTN, native backend, SST trees, loss on every node",
    "bilstm": "fused BiLSTM (nn.LSTM), loss on the sentence label only",
}

MEMORY_NOTE_CPU = (
    "peak RSS increase of this process during the phase (VmHWM reset through "
    "/proc/self/clear_refs after gc and malloc_trim; minus the RSS at the phase's start); "
    "includes optimizer state created in the phase; memory the allocator kept from earlier "
    "phases can make it an underestimate"
)
MEMORY_NOTE_CUDA = "torch.cuda.max_memory_allocated during the phase minus the allocated memory at its start"


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


def _tree_flops(cell: str, E: int, H: int, C: int) -> Callable[[list], float]:
    """Forward matmul FLOPs of a tree model on a batch of :class:`TreePlan` items."""

    def count(plans: list) -> float:
        N = sum(p.n for p in plans)
        T = sum(int(p.has_token.sum()) for p in plans)
        leaves = sum(int((p.heights == 0).sum()) for p in plans)
        N_int, edges = N - leaves, N - len(plans)
        head = 2 * N * H * C
        if cell == "nary-tree-lstm":  # W x on tokens; [h1; h2] (2H) @ (2H, 5H) per internal node
            return 2 * T * E * 4 * H + 2 * N_int * 2 * H * 5 * H + head
        if cell == "child-sum-tree-lstm":  # W x; U_iou on the child sum; U_f per child (edge)
            return 2 * T * E * 4 * H + 2 * N_int * H * 3 * H + 2 * edges * H * H + head
        if cell == "rntn":  # leaf transform; W [c1; c2]; the tensor term z^T V^[k] z
            return 2 * T * E * H + 2 * N_int * 2 * H * H + 2 * N_int * H * (2 * H) ** 2 + head
        if cell == "dgl-example":  # W_iou on every node (masked); U_iou, U_f per internal node
            return 2 * N * E * 3 * H + 2 * N_int * 2 * H * (3 * H + 2 * H) + head
        raise ValueError(cell)

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


def _time_phase(step: Callable[[list], None], batches, device: torch.device, warmup: int,
                seconds: float, min_batches: int, repeats: int) -> dict:
    """Runs ``step`` on batches: ``warmup`` untimed, then timed until ``seconds`` have passed
    and ``min_batches`` were done (or 3x ``seconds``). Each batch is timed on its own (device
    synchronised around it); consecutive batches are grouped into ``repeats`` repetitions."""
    for _ in range(warmup):
        step(next(batches))
    _sync(device)
    times, sizes, done = [], [], []
    start = time.perf_counter()
    while True:
        items = next(batches)
        t0 = time.perf_counter()
        step(items)
        _sync(device)
        times.append(time.perf_counter() - t0)
        sizes.append(len(items))
        done.append(items)
        elapsed = time.perf_counter() - start
        if (elapsed >= seconds and len(times) >= min_batches) or elapsed >= 3 * max(seconds, 1e-9):
            break
    groups = np.array_split(np.arange(len(times)), min(repeats, len(times)))
    rates = [sum(sizes[i] for i in g) / sum(times[i] for i in g) for g in groups]
    return {
        "sentences_per_s": statistics.median(rates),
        "repetitions": [round(r, 1) for r in rates],
        "batches": len(times),
        "sentences": sum(sizes),
        "seconds": round(sum(times), 3),
        "_done": done,
    }


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
        "cpu_cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
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
    dependency_trees: list  # spaCy parses of the first sentences, every node labelled
    vocab: Any
    vectors: Optional[np.ndarray]
    timings: dict = field(default_factory=dict)


def _load_data(cfg: BenchConfig, log: Callable[[str], None]) -> _Data:
    from treernn.corpora import load_sst
    from treernn.parsing import SpacyParser
    from treernn.trees import unescape_token
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
    parser = SpacyParser(one_tree_per_text=True)
    n_dep = min(cfg.dependency_trees, len(trees))
    unescaped = [[unescape_token(t) for t in sent] for sent in tokens[:n_dep]]
    deps = parser.parse(unescaped)
    for dep, tree in zip(deps, trees):
        for node in dep.postorder():  # the benchmark's labels: the sentence label everywhere
            node.label = tree.label
    timings["spacy_parse_s"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    vocab = Vocab.build(tokens + unescaped)
    vectors = None
    if cfg.vectors is not None:
        vectors, coverage = load_vectors(cfg.vectors, vocab, cfg.input_dim)
        log(f"bench: {coverage}")
    timings["vocab_vectors_s"] = round(time.perf_counter() - t0, 2)
    return _Data(trees, tokens, deps, vocab, vectors, timings)


def _workloads(cfg: BenchConfig, data: _Data, device: torch.device) -> list[_Workload]:
    """The configurations of ``cfg.configs`` (all by default), models on ``device``."""
    from treernn.batching import batch_trees, plan_tree
    from treernn.batching.sequence import batch_sequences
    from treernn.encoders.registry import build_encoder
    from treernn.encoders.tree import TreeEncoder
    from treernn.models.classifier import SequenceClassifier, TreeClassifier

    E, H, C, V, vocab = cfg.input_dim, cfg.hidden_dim, cfg.num_classes, len(data.vocab), data.vocab
    wanted = cfg.configs or tuple(CONFIGS)
    plans = [plan_tree(t, vocab) for t in data.trees]
    out = []

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

    for name in wanted:
        if name == "tree-lstm-native":
            out.append(_Workload(name, tree_model("nary-tree-lstm", "native"), plans, tree_collate,
                                 _tree_flops("nary-tree-lstm", E, H, C)))
        elif name == "tree-lstm-dgl":
            out.append(_Workload(name, tree_model("nary-tree-lstm", "dgl"), plans, tree_collate,
                                 _tree_flops("nary-tree-lstm", E, H, C)))
        elif name == "dgl-example":
            from treernn._dgl import import_dgl

            dgl = import_dgl(device)
            graphs = []
            for p in plans:  # per-tree graphs, built once (as the example's dataset does)
                g = dgl.graph((torch.from_numpy(p.edge_child), torch.from_numpy(p.edge_parent)),
                              num_nodes=p.n)
                g.ndata["x"] = torch.from_numpy(p.token_ids)
                g.ndata["y"] = torch.from_numpy(p.labels)
                g.ndata["mask"] = torch.from_numpy(p.has_token.astype(np.int64))
                graphs.append((g, p))

            def graph_collate(items, dgl=dgl):
                g = dgl.batch([g for g, _ in items]).to(device)
                return g, g.ndata["y"]

            count = _tree_flops("dgl-example", E, H, C)
            out.append(_Workload(name, init(DGLExampleTreeLSTM(V, E, H, C)), graphs, graph_collate,
                                 lambda items, count=count: count([p for _, p in items])))
        elif name == "child-sum-deps":
            dep_plans = [plan_tree(t, vocab) for t in data.dependency_trees]
            out.append(_Workload(name, tree_model("child-sum-tree-lstm", "native"), dep_plans,
                                 tree_collate, _tree_flops("child-sum-tree-lstm", E, H, C),
                                 note=f"{len(dep_plans)} spaCy parses, cycled; every node "
                                      "labelled with its sentence's label"))
        elif name == "rntn-native":
            out.append(_Workload(name, tree_model("rntn", "native"), plans, tree_collate,
                                 _tree_flops("rntn", E, H, C)))
        elif name == "bilstm":
            model = init(SequenceClassifier(build_encoder("bilstm", V, E, H), C, 0.5))
            labels = {id(t): int(tree.label) for t, tree in zip(data.tokens, data.trees)}

            def seq_collate(items):
                batch = batch_sequences(items, vocab, device=device)
                targets = torch.tensor([labels[id(t)] for t in items], device=device)
                return batch, targets

            out.append(_Workload(name, model, data.tokens, seq_collate, _bilstm_flops(E, H, C),
                                 note="loss on the sentence label only"))
        else:
            raise BenchError(f"unknown configuration {name!r}; known: {', '.join(CONFIGS)}")
    return out


# --------------------------------------------------------------------------- running
def _run_workload(w: _Workload, cfg: BenchConfig, device: torch.device, peak_gflops: float,
                  log: Callable[[str], None]) -> list[dict]:
    from treernn.training.trainer import TrainConfig, build_optimizer, clip_grad_norm

    train_cfg = TrainConfig()
    optimizer = build_optimizer(w.model, train_cfg)
    model = w.model

    def train_step(items):
        batch, targets = w.collate(items)
        loss = model(batch, targets).loss
        float(loss.detach())  # the trainer reads the loss every step (one host sync)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if train_cfg.clip_norm:
            clip_grad_norm(model.parameters(), train_cfg.clip_norm)
        optimizer.step()

    def infer_step(items):
        batch, _ = w.collate(items)
        with torch.inference_mode():
            model(batch).logits.argmax(-1)

    rows = []
    for B in cfg.batch_sizes:
        row: dict = {"config": w.name, "batch_size": B}
        for phase, step, seconds, factor in (("train", train_step, cfg.train_seconds, 3),
                                             ("infer", infer_step, cfg.infer_seconds, 1)):
            model.train(phase == "train")
            torch.manual_seed(cfg.seed)
            with _PeakMemory(device) as mem:
                result = _time_phase(step, _pool_batches(w.items, B), device, cfg.warmup_batches,
                                     seconds, cfg.min_batches, cfg.repeats)
            done = result.pop("_done")
            # FLOPs: forward x 3 for training (forward + two matmuls per forward one backward).
            flops = factor * sum(w.flops(items) for items in done)
            gflops = flops / result["seconds"] / 1e9
            result.update(model_gflops=round(gflops, 2),
                          share_of_peak=round(gflops / peak_gflops, 4),
                          flops_per_sentence=round(flops / result["sentences"]),
                          peak_memory_mb=None if mem.mb is None else round(mem.mb, 1))
            result["sentences_per_s"] = round(result["sentences_per_s"], 1)
            row[phase] = result
            log(f"bench: {w.name:<17} B={B:<4} {phase}: {result['sentences_per_s']:>9,.1f} "
                f"sentences/s ({result['batches']} batches)")
        row["infer_over_train"] = round(row["infer"]["sentences_per_s"] / row["train"]["sentences_per_s"], 2)
        rows.append(row)
    return rows


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
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    start = time.perf_counter()
    data = _load_data(cfg, log)
    shapes = [(256, 2 * cfg.hidden_dim, 5 * cfg.hidden_dim),
              (1024, 2 * cfg.hidden_dim, 5 * cfg.hidden_dim),
              (4096, 2 * cfg.hidden_dim, 5 * cfg.hidden_dim),
              (4096, cfg.input_dim, 4 * cfg.hidden_dim),
              (2048, 2048, 2048)]
    peak = matmul_peak(device, shapes, seconds=0.1 if cfg.quick else 1.0,
                       repeats=3 if cfg.quick else 5)
    log(f"bench: matmul peak {peak['peak_gflops']:.1f} GFLOP/s")
    rows, skipped = [], {}
    for w in _workloads(cfg, data, device):
        try:
            rows.extend(_run_workload(w, cfg, device, peak["peak_gflops"], log))
        except TreernnError as exc:  # e.g. a CPU-only DGL build with --device cuda
            skipped[w.name] = str(exc)
            log(f"bench: {w.name} skipped: {exc}")
        w.model.to("cpu")
        del w
        gc.collect()
    settings = asdict(cfg)
    settings.update(optimizer="adagrad (TrainConfig defaults, sparse embedding gradients, "
                              "clip norm 5)", dropout=0.5, loss_on="every node (trees); "
                                                                  "sentence label (bilstm)")
    return {
        "machine": _machine_info(device),
        "settings": settings,
        "data": {"trees": len(data.trees), "dependency_trees": len(data.dependency_trees),
                 "vocab": len(data.vocab), "mean_nodes": round(float(np.mean([len(t.postorder()) for t in data.trees[:2000]])), 1),
                 **data.timings},
        "configs": {name: CONFIGS[name] for name in (cfg.configs or CONFIGS)},
        "matmul_peak": peak,
        "memory_measure": MEMORY_NOTE_CUDA if device.type == "cuda" else MEMORY_NOTE_CPU,
        "flops_measure": ("matmul FLOPs counted analytically per batch (input projections, "
                          "per-level recurrent matmuls, softmax head); training = 3x forward"),
        "results": rows,
        "skipped": skipped,
        "ratios": _ratios(rows, cfg.batch_sizes),
        "targets": _targets(rows),
        "total_seconds": round(time.perf_counter() - start, 1),
    }


def format_table(report: dict) -> str:
    """The report as a plain-text table, ratios and target checks."""
    m = report["machine"]
    lines = [
        f"treernn bench on {m['cpu_model']} ({m['cpu_cores']} cores, {m['torch_threads']} torch "
        f"threads), device {m['device']}, torch {m['torch']}, dgl {m['dgl']}",
        f"matmul peak {report['matmul_peak']['peak_gflops']:.1f} GFLOP/s ("
        + ", ".join(f"{r['m']}x{r['k']}@{r['k']}x{r['n']}: {r['gflops']:.1f}"
                    for r in report["matmul_peak"]["shapes"]) + ")",
        "",
        f"{'config':<17} {'B':>4} {'train sent/s':>13} {'infer sent/s':>13} {'inf/train':>9} "
        f"{'train GF/s':>10} {'%peak':>6} {'infer GF/s':>10} {'%peak':>6} {'mem train MB':>12} "
        f"{'mem infer MB':>12}",
    ]

    def mb(x):
        return "n/a" if x is None else f"{x:.0f}"

    for r in report["results"]:
        t, i = r["train"], r["infer"]
        lines.append(
            f"{r['config']:<17} {r['batch_size']:>4} {t['sentences_per_s']:>13,.1f} "
            f"{i['sentences_per_s']:>13,.1f} {r['infer_over_train']:>8.2f}x "
            f"{t['model_gflops']:>10.2f} {100 * t['share_of_peak']:>5.1f}% "
            f"{i['model_gflops']:>10.2f} {100 * i['share_of_peak']:>5.1f}% "
            f"{mb(t['peak_memory_mb']):>12} {mb(i['peak_memory_mb']):>12}")
    for name, why in report["skipped"].items():
        lines.append(f"{name:<17} skipped: {why}")
    lines += ["", "ratios (same run):"]
    for r in report["ratios"]:
        lines.append(f"  {r['what']:<34} B={r['batch_size']:<4} {r['phase']:<5} {r['ratio']:.2f}x")
    lines += ["", "targets (native Tree-LSTM):"]
    for c in report["targets"]:
        lines.append(f"  {c['target']:<40} {c['value']:>10,.2f}  goal >= {c['goal']:,.0f}  "
                     f"{'met' if c['met'] else 'MISSED'}")
    lines += ["", "sentences/s: median over repetitions of consecutive timed batches, batching "
                  "included; bilstm: loss on the sentence label only",
              f"memory: {report['memory_measure']}",
              f"FLOPs: {report['flops_measure']}",
              f"total {report['total_seconds']:.0f} s"]
    return "\n".join(lines)


def write_json(report: dict, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


__all__ = ["BenchConfig", "BenchError", "CONFIGS", "DGLExampleTreeLSTM", "format_table",
           "matmul_peak", "run_benchmark", "write_json"]
