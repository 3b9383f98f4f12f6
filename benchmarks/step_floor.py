"""How far the native Tree-LSTM's CPU training step is from its matrix-multiply floor (issue 31).

A training step of the N-ary Tree-LSTM cannot be faster than its recurrent matrix multiplies:
per internal level one ``(n, 2H) @ (2H, 5H)`` forward and one ``(n, 5H) @ (5H, 2H)`` backward
(both sequential over the levels), and one ``(2H, N_int) @ (N_int, 5H)`` weight gradient. This
script times, on the same SST batches and in one process, (a) the benchmark's training step
(``treernn.bench`` workloads: batch building, forward, loss, backward, clipping, AdaGrad) with
the fused level loop and with the Python one, (b) DGL's Tree-LSTM example, the yardstick, and
(c) those matrix multiplies alone, on preallocated operands: the floor. It prints what ratio
against the yardstick the floor would allow.

    OMP_NUM_THREADS=1 python benchmarks/step_floor.py [--threads 1] [--batch-size 25]

Output (one thread, B = 25, on this project's machine): ``benchmarks/step-floor.txt``. A quiet
machine only (nothing else running): the figures are wall-clock medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from treernn.batching import batch_trees, plan_tree
from treernn.bench.config import BenchConfig
from treernn.bench.workloads import _build_workload, _load_data, _pool_batches, _steps
from treernn.nn import fused


def _median_ms(f, batches, rounds: int = 5) -> float:
    for b in batches[:3]:
        f(b)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for b in batches:
            f(b)
        times.append((time.perf_counter() - t0) / len(batches) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=25)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--data-path", default="../shared/corpora/sst")
    ap.add_argument("--vectors", default="../shared/vectors/glove.6B.50d.sst.txt")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = BenchConfig(data_path=args.data_path, vectors=args.vectors, input_dim=50, max_trees=4000,
                      configs=("tree-lstm-native", "dgl-example"))
    data = _load_data(cfg, lambda m: None)
    plans = [plan_tree(t, data.vocab) for t in data.trees]
    B, H = args.batch_size, cfg.hidden_dim
    fused.fused_ops()  # built before timing
    print(f"{args.threads} thread(s), B = {B}, {args.batches} batches of SST training trees, "
          f"E 50, H {H}; fused level kernels {fused.fused_status()}")

    rates = {}
    for name in ("tree-lstm-native", "tree-lstm-unfused", "dgl-example"):
        w = _build_workload(name, cfg, data, plans, torch.device("cpu"))
        train, _ = _steps(w)
        gen = _pool_batches(w.items, B)
        batches = [next(gen) for _ in range(args.batches)]
        ms = _median_ms(train, batches)
        rates[name] = B / ms * 1000
        print(f"  {name:<18} train step {ms:6.2f} ms  {rates[name]:7.0f} sentences/s")

    gen = _pool_batches(plans, B)
    tree_batches = [batch_trees(next(gen)) for _ in range(args.batches)]
    u_t, u = torch.randn(2 * H, 5 * H), torch.randn(5 * H, 2 * H)
    operands = []
    for batch in tree_batches:
        off, n0 = batch.level_offsets, batch.num_leaves
        sizes = [off[k + 1] - off[k] for k in range(1, batch.num_levels)]
        ni = batch.num_nodes - n0
        operands.append(([(torch.randn(n, 2 * H), torch.randn(n, 5 * H), torch.empty(n, 5 * H),
                           torch.empty(n, 2 * H)) for n in sizes],
                         torch.randn(2 * H, ni), torch.randn(ni, 5 * H), ni))

    def matmuls(op):
        levels, h_cat_t, d_xw, _ = op
        for x, g, out_f, out_b in levels:
            torch.mm(x, u_t, out=out_f)  # forward, per level
        for x, g, out_f, out_b in reversed(levels):
            torch.mm(g, u, out=out_b)  # backward, per level
        torch.mm(h_cat_t, d_xw)  # the weight gradient, once

    floor = _median_ms(matmuls, operands)
    flops = statistics.mean(3 * 2 * op[3] * 2 * H * 5 * H for op in operands)
    print(f"  recurrent matmuls alone {floor:6.2f} ms a step ({flops / 1e6:.0f} MFLOP, "
          f"{flops / floor / 1e6:.1f} GFLOP/s): at most {B / floor * 1000:,.0f} sentences/s")
    base = rates["dgl-example"]
    print(f"ratios against dgl-example (same run): fused {rates['tree-lstm-native'] / base:.2f}x, "
          f"Python loop {rates['tree-lstm-unfused'] / base:.2f}x, the matmul floor "
          f"{B / floor * 1000 / base:.2f}x; the step outside these matmuls: fused "
          f"{B / rates['tree-lstm-native'] * 1000 - floor:.2f} ms, Python loop "
          f"{B / rates['tree-lstm-unfused'] * 1000 - floor:.2f} ms")


if __name__ == "__main__":
    main()
