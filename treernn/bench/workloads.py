"""What the benchmark times: the SST data, a configuration's model and batches, its steps, and
the parse-and-classify pipeline.

Legend: B sentences per batch, N nodes, n0 leaves, T token-bearing nodes, E input size,
H hidden size, C classes.
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from treernn._dgl import import_dgl
from treernn.batching import batch_trees, plan_tree
from treernn.batching.sequence import batch_sequences
from treernn.bench.config import CONFIGS, SICK_TRAIN_PAIRS, BenchConfig, BenchError
from treernn.bench.dgl_example import DGLExampleTreeLSTM
from treernn.bench.timing import _sync
from treernn.corpora import load_sst
from treernn.corpora.pairs import load_pair_task
from treernn.corpora.texts import TextOptions
from treernn.corpora.tasks import dependency_versions
from treernn.encoders.registry import build_encoder
from treernn.encoders.tree import TreeEncoder
from treernn.models.build import build_model
from treernn.models.classifier import SequenceClassifier, TreeClassifier
from treernn.models.config import ModelConfig
from treernn.nn import fused
from treernn.parsing import SpacyParser, load_spacy
from treernn.pipeline import Predictor
from treernn.training.trainer import TrainConfig, build_optimizer, clip_grad_norm, use_sparse_embeddings
from treernn.trees import unescape_token
from treernn.vocab import Vocab, load_vectors


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
    epoch_items: Optional[int] = None  # items of a training epoch, when the report gives its time
    python_levels: bool = False  # steps run with the fused level loop off (tree-lstm-unfused)


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


# --------------------------------------------------------------------------- data
@dataclass
class _Data:
    trees: list  # SST training trees (shuffled, possibly cut)
    tokens: list  # their token lists (as in the treebank)
    dependency_trees: list  # spaCy parses of the first sentences, span-matched labels
    vocab: Any
    vectors: Optional[np.ndarray]
    timings: dict = field(default_factory=dict)


def _load_data(cfg: BenchConfig, log: Callable[[str], None]) -> _Data:
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

    if name in ("tree-lstm-native", "tree-lstm-dgl", "tree-lstm-unfused"):
        model = tree_model("nary-tree-lstm", "dgl" if name == "tree-lstm-dgl" else "native")
        return _Workload(name, model, plans, tree_collate, flops(model, "nary-tree-lstm"),
                         infer_flops=infer_flops(model, "nary-tree-lstm"),
                         python_levels=name == "tree-lstm-unfused")
    if name == "dgl-example":
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
    if name == "child-sum-sick":
        return _sick_workload(cfg, device)
    raise BenchError(f"unknown configuration {name!r}; known: {', '.join(CONFIGS)}")


def _sick_workload(cfg: BenchConfig, device: torch.device) -> _Workload:
    """``child-sum-sick``: the ``compare sick`` recipe of the Dependency Tree-LSTM (E 50, word
    vectors held fixed, memory H, similarity 50, 5 score classes), on SICK's training pairs
    (parsed by spaCy through the parse cache; ``max_trees`` pairs at most). Items are pairs.

    Raises:
        CorpusError: SICK not found and not downloadable (the caller reports a skip).
    """
    E, H, Hs, K = 50, cfg.hidden_dim, 50, 5
    dataset = load_pair_task("sick", "relatedness", TextOptions(progress=False), path=cfg.sick_path,
                             log=lambda m: None)
    pairs = list(dataset.splits["train"])
    random.Random(cfg.seed).shuffle(pairs)
    if cfg.max_trees is not None:
        pairs = pairs[: cfg.max_trees]
    vocab = Vocab.build((p.tokens() for p in pairs), lowercase=True)
    model = build_model(ModelConfig(encoder="child-sum-tree-lstm", input_dim=E, hidden_dim=H, dropout=0.0,
                                    vocab_size=len(vocab), num_classes=K, label_names=dataset.label_names,
                                    task="relatedness"), vocab).to(device)
    model.encoder.embedding.weight.requires_grad_(False)  # fixed word vectors, as Tai et al.
    items = model.plan(pairs, vocab)
    cell = model.encoder.cell
    trees = _tree_flops("child-sum-tree-lstm", E, H, 0, getattr(cell, "leaf_projection_size", cell.projection_size),
                        cell.projection_size)

    def count(batch: list, trees=trees) -> float:  # both sides' trees + the similarity head
        return trees([x[0] for x in batch] + [x[1] for x in batch]) + 2 * len(batch) * (2 * H * Hs + Hs * K)

    def collate(batch: list):
        return model.make_batch(batch, vocab, device=device)

    return _Workload("child-sum-sick", model, items, collate, count, epoch_items=SICK_TRAIN_PAIRS,
                     note=f"{len(items)} pairs; E {E} fixed, similarity {Hs}; rows count pairs")


def _steps(w: _Workload) -> tuple[Callable[[list], None], Callable[[list], None]]:
    """The training step (as the trainer's: loss read, clipping, AdaGrad) and the inference
    step of a workload, both building their batch."""
    train_cfg = TrainConfig()
    use_sparse_embeddings(w.model, train_cfg)  # as the trainer does
    optimizers = [o for o in build_optimizer(w.model, train_cfg) if o is not None]
    model = w.model

    levels = fused.disabled if w.python_levels else contextlib.nullcontext  # tree-lstm-unfused

    def train_step(items):
        with levels():
            return plain_train_step(items)

    def plain_train_step(items):
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
        with torch.inference_mode(), levels():
            model(batch).logits.argmax(-1)

    return train_step, infer_step


def _pipeline_throughput(cfg: BenchConfig, data: _Data, device: torch.device,
                         log: Callable[[str], None]) -> dict:
    """Text in, labels out: spaCy parse + N-ary Tree-LSTM over raw SST sentences, best of 3,
    with the spaCy pipeline treernn loads (the components trees need,
    :data:`treernn.parsing.NOT_FOR_TREES` left out) and the model on one torch thread (the
    Predictor's default), Python's garbage collector paused per batch; as the baseline, how
    treernn ran it before: the whole spaCy pipeline, the model on the process's torch threads,
    the collector on; in the same run."""
    texts = [" ".join(unescape_token(t) for t in toks) for toks in data.tokens[: cfg.pipeline_sentences]]
    model = build_model(ModelConfig(vocab_size=len(data.vocab), input_dim=cfg.input_dim,
                                    hidden_dim=cfg.hidden_dim, num_classes=cfg.num_classes))
    result = {}
    for name, full, threads in (("full_spacy", True, None), ("trees_only", False, 1)):
        parser = SpacyParser(nlp=load_spacy(full=full))
        predictor = Predictor(model.to(device), data.vocab, parser=parser, batch_size=256, threads=threads,
                              pause_gc=not full)
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
        result[name] = {
            "components": list(parser.nlp.pipe_names), "model_threads": threads or torch.get_num_threads(),
            "gc_paused": not full,
            "texts": len(texts), "sentences": sentences,
            "sentences_per_s": round(sentences / total, 1),
            "parse_seconds": round(parse_s, 3), "model_seconds": round(model_s, 3),
            "parse_share": round(parse_s / total, 3), "model_share": round(model_s / total, 3),
            "model_sentences_per_s": round(sentences / model_s, 1)}
    after, before = result["trees_only"], result["full_spacy"]
    result.update(after)  # the pipeline as treernn runs it
    result["speedup_vs_full_spacy"] = round(after["sentences_per_s"] / before["sentences_per_s"], 2)
    result["what"] = (f"spaCy parse ({', '.join(after['components'])}; baseline: every component) + "
                      f"dependency_to_phrase, then N-ary Tree-LSTM (E {cfg.input_dim}, H {cfg.hidden_dim}; "
                      f"1 torch thread, baseline: the process's) forward and softmax on every node, "
                      f"batches of 256, Python's gc paused per batch (baseline: on); best of 3")
    log(f"bench: pipeline {after['sentences_per_s']:.0f} sentences/s ({result['speedup_vs_full_spacy']:.2f}x "
        f"the whole spaCy pipeline's {before['sentences_per_s']:.0f}), parsing "
        f"{100 * after['parse_share']:.0f}%, model {100 * after['model_share']:.0f}%")
    return result
