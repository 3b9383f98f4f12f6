"""The native Tree-LSTM against DyNet's autobatching, in one process (issue 31's DyNet yardstick).

DyNet (Neubig et al. 2017, "On-the-fly Operation Batching in Dynamic Computation Graphs") builds
one computation graph per batch of trees, node by node as a recursive program would, and its
autobatching (``autobatch=1``) groups same-shaped operations across the graph before running
them: the best-known way of batching tree models without writing a level scheduler. Here the same
model as ``treernn bench``'s ``tree-lstm-native`` row, written the way a DyNet user would write it
(after ``neulab/dynet-benchmark``'s ``treenn-bulk.py``, with treernn's N-ary equations: one
``(5H, 2H)`` recurrent matrix, the forget gates of each child pair, no input at internal nodes):
SST training trees, E 50 (GloVe 6B 50-d), H 150, 5 classes, dropout 0.5 on the node states,
the loss on every node, AdaGrad (learning rate 0.05, DyNet's default clipping at norm 5), the
embeddings updated sparsely. Timed: a training step of B sentences (graph construction,
forward, backward, update), the median of rounds over the same batches, beside treernn's
training step (``treernn.bench`` workloads, the same batches) on 1 and 2 torch threads.

DyNet has no wheel for Python 3.11 and its source build downloads Eigen; it was built for this
measurement from DyNet's repository (clab/dynet at 22b4495) with Eigen 3.3.7, see
``benchmarks/dynet-autobatch.txt`` for the exact commands. Not a dependency of treernn.

    python benchmarks/dynet_autobatch.py [--batch-sizes 25,50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

import dynet_config

dynet_config.set(mem=2048, random_seed=1, autobatch=1)
import dynet as dy  # noqa: E402  (the configuration must come first)
import numpy as np  # noqa: E402
import torch  # noqa: E402

from treernn.batching import plan_tree  # noqa: E402
from treernn.bench.config import BenchConfig  # noqa: E402
from treernn.bench.workloads import _build_workload, _load_data, _steps  # noqa: E402
from treernn.nn import fused  # noqa: E402


class DyNetTreeLSTM:
    """The N-ary Tree-LSTM classifier of treernn (Tai et al. 2015, eqs. 9-14) in DyNet."""

    def __init__(self, pc: dy.ParameterCollection, vectors: np.ndarray, H: int, C: int):
        V, E = vectors.shape
        self.H = H
        self.E = pc.lookup_parameters_from_numpy(vectors.astype(np.float32))  # (V, E)
        # [i; o; u] input weights: a leaf needs no forget gate and SST's internal nodes have no
        # input, so W_f is never used (treernn's model has it; it gets no gradient there either)
        self.W = pc.add_parameters((3 * H, E))
        self.b = pc.add_parameters(3 * H)  # [i; o; u]
        self.b_f = pc.add_parameters(H)
        self.U = pc.add_parameters((5 * H, 2 * H))  # [i; o; f_1; f_2; u] x [h_1 | h_2]
        self.out = pc.add_parameters((C, H))
        self.out_b = pc.add_parameters(C)

    def losses(self, tree, vocab, train: bool = True) -> list:
        """One loss expression per node (post-order recursion, as a DyNet program is written)."""
        H = self.H
        W, b, U = self.W, self.b, self.U
        losses = []

        def visit(node):
            if not node.children:  # a leaf: i, o, u from its word (eqs. 9, 11, 12, no children)
                x = self.E[vocab.lookup(node.token)]
                g = dy.affine_transform([b, W, x])  # (3H,)
                i = dy.logistic(dy.pick_range(g, 0, H))
                o = dy.logistic(dy.pick_range(g, H, 2 * H))
                u = dy.tanh(dy.pick_range(g, 2 * H, 3 * H))
                c = dy.cmult(i, u)
            else:
                (h1, c1), (h2, c2) = visit(node.children[0]), visit(node.children[1])
                # no input at internal nodes (x = 0): the biases only
                g = U * dy.concatenate([h1, h2])  # (5H,)  eqs. 9-12
                i = dy.logistic(dy.pick_range(g, 0, H) + dy.pick_range(b, 0, H))
                o = dy.logistic(dy.pick_range(g, H, 2 * H) + dy.pick_range(b, H, 2 * H))
                f1 = dy.logistic(dy.pick_range(g, 2 * H, 3 * H) + self.b_f)
                f2 = dy.logistic(dy.pick_range(g, 3 * H, 4 * H) + self.b_f)
                u = dy.tanh(dy.pick_range(g, 4 * H, 5 * H) + dy.pick_range(b, 2 * H, 3 * H))
                c = dy.cmult(i, u) + dy.cmult(f1, c1) + dy.cmult(f2, c2)  # eq. 13
            h = dy.cmult(o, dy.tanh(c))  # eq. 14
            z = dy.dropout(h, 0.5) if train else h
            losses.append(dy.pickneglogsoftmax(dy.affine_transform([self.out_b, self.out, z]), node.label))
            return h, c

        visit(tree)
        return losses


def _median_ms(step, batches, rounds: int) -> float:
    for b in batches[:2]:
        step(b)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for b in batches:
            step(b)
        times.append((time.perf_counter() - t0) / len(batches) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch-sizes", default="25,50")
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--data-path", default="../shared/corpora/sst")
    ap.add_argument("--vectors", default="../shared/vectors/glove.6B.50d.sst.txt")
    args = ap.parse_args()
    cfg = BenchConfig(data_path=args.data_path, vectors=args.vectors, input_dim=50, max_trees=4000,
                      configs=("tree-lstm-native", "tree-lstm-unfused"))
    data = _load_data(cfg, lambda m: None)
    trees = [t for t in data.trees if t.is_binary()]
    plans = [plan_tree(t, data.vocab) for t in trees]
    fused.fused_ops()
    print(f"DyNet {getattr(dy, '__version__', '(version not exported)')} (autobatch 1, CPU, one thread), torch "
          f"{torch.__version__}, fused level kernels {fused.fused_status()}; SST training trees, E 50, H 150, "
          f"5 classes, loss on every node, AdaGrad; median of {args.rounds} rounds of {args.batches} batches")

    pc = dy.ParameterCollection()
    model = DyNetTreeLSTM(pc, data.vectors, cfg.hidden_dim, cfg.num_classes)
    trainer = dy.AdagradTrainer(pc, learning_rate=0.05)
    trainer.set_sparse_updates(True)

    def dynet_step(batch):
        dy.renew_cg()
        losses = [l for tree in batch for l in model.losses(tree, data.vocab)]
        loss = dy.esum(losses) * (1.0 / len(losses))  # the mean over nodes, as treernn's loss
        loss.value()
        loss.backward()
        trainer.update()

    for B in (int(x) for x in args.batch_sizes.split(",")):
        rng = random.Random(B)
        order = list(range(len(trees)))
        rng.shuffle(order)
        idx = [order[k * B:(k + 1) * B] for k in range(args.batches)]
        dy_ms = _median_ms(dynet_step, [[trees[i] for i in b] for b in idx], args.rounds)
        rates = {"dynet": B / dy_ms * 1000}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for name, key in (("tree-lstm-native", "treernn"), ("tree-lstm-unfused", "treernn, Python loop")):
                w = _build_workload(name, cfg, data, plans, torch.device("cpu"))
                train, _ = _steps(w)
                rates[f"{key} {threads}t"] = B / _median_ms(train, [[plans[i] for i in b] for b in idx],
                                                            args.rounds) * 1000
        line = ", ".join(f"{k} {v:,.0f}" for k, v in rates.items())
        d = rates["dynet"]
        print(f"B={B}: training sentences/s: {line}\n  against DyNet: treernn {rates['treernn 1t'] / d:.2f}x "
              f"(1 thread), {rates['treernn 2t'] / d:.2f}x (2 threads); with the Python level loop "
              f"{rates['treernn, Python loop 1t'] / d:.2f}x, {rates['treernn, Python loop 2t'] / d:.2f}x")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
