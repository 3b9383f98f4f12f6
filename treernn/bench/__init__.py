"""Throughput benchmark of the tree encoders (issue 6): ``treernn bench``.

Measures, in one process, on the SST training trees, training and inference sentences per
second of:

- ``tree-lstm-native``: the N-ary Tree-LSTM, native backend (on a CPU: the fused C++ level
  loop of :mod:`treernn.nn.fused` where it could be built; the report's header says);
- ``tree-lstm-unfused``: the same with the Python level loop (the fused loop off), the
  before of the fused loop, in the same run;
- ``tree-lstm-dgl``: the same model on the DGL backend;
- ``dgl-example``: a baseline written the way DGL's own Tree-LSTM example is
  (``examples/pytorch/tree_lstm/tree_lstm.py``): ``dgl.prop_nodes_topo`` with a message
  function, a Python reduce function over the mailbox and an apply function, the graph of a
  batch built with ``dgl.batch`` of per-tree graphs. It is the yardstick;
- ``child-sum-deps``: the Child-Sum Tree-LSTM on spaCy dependency parses of the same
  sentences (:func:`~treernn.corpora.tasks.dependency_versions`: parsed once before timing,
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

Modules: :mod:`~treernn.bench.config` (settings, configurations; no torch),
:mod:`~treernn.bench.dgl_example` (the yardstick model), :mod:`~treernn.bench.workloads`
(data, models, batches, steps, the pipeline), :mod:`~treernn.bench.timing` (slices, the calm
probe, the matmul peak, the machine), :mod:`~treernn.bench.memory` (peak memory),
:mod:`~treernn.bench.run` (the rounds), :mod:`~treernn.bench.report` (table, JSON).
``import treernn.bench`` does not import torch: the names that need it load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from treernn.bench.config import CONFIGS, BenchConfig, BenchError, bench_config
from treernn.bench.report import format_table, write_json

# public name -> module that defines it (imports torch; loaded lazily on first attribute access)
_LAZY = {
    "DGLExampleTreeLSTM": "treernn.bench.dgl_example",
    "matmul_peak": "treernn.bench.timing",
    "run_benchmark": "treernn.bench.run",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'treernn.bench' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))


__all__ = ["BenchConfig", "BenchError", "CONFIGS", "DGLExampleTreeLSTM", "bench_config",
           "format_table", "matmul_peak", "run_benchmark", "write_json"]
