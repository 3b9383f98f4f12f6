"""Run DGL's own Tree-LSTM example (dmlc/dgl, examples/pytorch/tree_lstm, tag v1.1.3: the
installed DGL's version) on this machine's SST files and word vectors, offline, for docs/experiments.md's
side-by-side row. The example's code is read from --example (a checkout of DGL's repository,
never copied into treernn); this driver only points its data loader at local files:

- ``SSTDataset`` normally downloads ``sst.zip`` into ``~/.dgl``; here its ``raw_path`` is a
  work folder (beside ``--out``) holding copies of the SST files given and a ``vocab.txt`` of their lowercased words
  (every word of train, dev and test, as the zip's vocabulary covers the corpus);
- the example as shipped calls ``SSTDataset()`` without ``glove_embed_file`` (random word
  vectors, though its README quotes GloVe 840B); here the training set gets ``--vectors``.
  ``SSTDataset`` fills words missing from the file with 300 random numbers whatever the file's
  size, so the driver hands it a vectors file that already has every vocabulary word: the
  file's vector, or uniform(-0.05, 0.05) in the file's size as the example draws them;
- DGL 1.1.3's ``SSTDataset.save`` (its cache) fails whenever vectors are given
  (``if self.pretrained_emb:`` on a tensor); the driver keeps no cache;
- ``train.main`` runs with the example's defaults (batch 20, h 150, AdaGrad 0.05, weight
  decay 1e-4, dropout 0.5, embedding lr 0.1 x lr, lr decay 0.99 per epoch, best epoch by dev
  root accuracy, early stop after 10 epochs without improvement) except ``--x-size`` (the
  vectors' size), ``--seed`` and ``--epochs``.

Prints the example's own lines and writes ``--out`` (JSON: test root accuracy = sentence
accuracy, test accuracy over all nodes, best epoch, seconds).

    python experiments/sst/dgl_example.py --example /tmp/dgl/examples/pytorch/tree_lstm \\
        --sst ../shared/corpora/sst --vectors ../shared/vectors/glove.6B.50d.sst.txt \\
        --seed 0 --epochs 10 --out runs/dgl-example/seed0.json
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np


def _words(path: Path) -> list[str]:
    return [w.lower() for w in re.findall(r"\(\d+ ([^()\s]+)\)", path.read_text(encoding="utf-8"))]


def prepare(sst: Path, vectors: Path, work: Path, seed: int) -> tuple[Path, Path, int]:
    """(raw_dir, vectors file for the vocabulary, vector size) in ``work``."""
    raw = work / "raw" / "sst"
    raw.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        # a copy, not a link: NLTK's reader refuses files that resolve outside its folder
        (raw / f"{split}.txt").write_bytes((sst / f"{split}.txt").read_bytes())
        for w in _words(sst / f"{split}.txt"):
            vocab.setdefault(w, None)
    (raw / "vocab.txt").write_text("".join(f"{w}\n" for w in vocab), encoding="utf-8")
    found: dict[str, str] = {}
    dim = 0
    with open(vectors, encoding="utf-8") as fh:
        for line in fh:
            word, _, rest = line.rstrip("\n").partition(" ")
            dim = dim or len(rest.split())
            if word.lower() in vocab and word.lower() not in found:
                found[word.lower()] = rest
    rng = np.random.default_rng(seed)
    full = work / "vectors.txt"
    with open(full, "w", encoding="utf-8") as fh:
        for w in vocab:
            rest = found.get(w) or " ".join(f"{x:.6f}" for x in rng.uniform(-0.05, 0.05, dim))
            fh.write(f"{w} {rest}\n")
    print(f"vocabulary {len(vocab):,} words, {len(found):,} with a vector in {vectors}", flush=True)
    return raw.parent, full, dim


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--example", type=Path, required=True, help="DGL's examples/pytorch/tree_lstm folder")
    ap.add_argument("--sst", type=Path, default=Path("../shared/corpora/sst"))
    ap.add_argument("--vectors", type=Path, default=Path("../shared/vectors/glove.6B.50d.sst.txt"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=100, help="the example's default: 100 (early stop 10)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    for what, path in (("--example", args.example / "train.py"), ("--sst", args.sst / "train.txt"),
                       ("--vectors", args.vectors)):
        if not path.is_file():
            print(f"dgl_example: {what}: no file {path}", file=sys.stderr)
            return 2
    work = args.out.with_suffix("").resolve()  # absolute: the example runs in it
    work.mkdir(parents=True, exist_ok=True)
    raw_dir, vectors, dim = prepare(args.sst, args.vectors, work, args.seed)

    os.environ.setdefault("DGLBACKEND", "pytorch")
    sys.path.insert(0, str(args.example.resolve()))
    from treernn._dgl import import_dgl

    import_dgl()  # dgl 1.1.3 needs the setuptools.extern alias treernn registers
    from dgl.data.tree import SSTDataset
    import nltk

    # NLTK's corpus readers open only folders on nltk.data.path
    nltk.data.path.append(str(raw_dir.resolve()))

    import train as example  # the example's train.py

    class LocalSST(SSTDataset):
        """SSTDataset reading the prepared folder (it would download sst.zip otherwise)."""

        raw_path = property(lambda self: str(raw_dir / "sst"))

        # DGL 1.1.3's SSTDataset.save() tests `if self.pretrained_emb:` on a tensor, which
        # raises whenever vectors are given; save() only writes a cache, so none is kept.
        def save(self):
            pass

        def has_cache(self):
            return False

    def dataset(mode: str = "train", **kw):
        return LocalSST(mode=mode, raw_dir=str(raw_dir), glove_embed_file=str(vectors), **kw)

    example.SSTDataset = dataset
    ns = argparse.Namespace(gpu=-1, seed=args.seed, batch_size=20, child_sum=False, x_size=dim, h_size=150,
                            epochs=args.epochs, log_every=10**9, lr=0.05, weight_decay=1e-4, dropout=0.5)
    cwd = os.getcwd()
    os.chdir(work)  # the example saves best_<seed>.pkl in the working folder
    captured = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, s):
            sys.__stdout__.write(s)
            sys.__stdout__.flush()
            return captured.write(s)

    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(Tee()):
            example.main(ns)
    finally:
        os.chdir(cwd)
    seconds = time.perf_counter() - start
    text = captured.getvalue()
    test = re.findall(r"Epoch (\d+) \| Test Acc ([0-9.]+) \| Root Acc ([0-9.]+)", text)
    dev = [float(x) for x in re.findall(r"\| Dev Acc [0-9.]+ \| Root Acc ([0-9.]+)", text)]
    if not test:
        print("dgl_example: the example printed no test accuracy", file=sys.stderr)
        return 1
    best_epoch, node_acc, root_acc = test[-1]
    result = {"seed": args.seed, "epochs_max": args.epochs, "epochs_run": len(dev), "x_size": dim,
              "best_epoch": int(best_epoch) + 1, "test_accuracy": float(root_acc),
              "test_node_accuracy": float(node_acc), "dev_curve": dev, "seconds": round(seconds, 1)}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "dev_curve"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
