"""The bundled sentiment model on SST: fine-grained (5 classes) and binary (the same model:
negative against positive probability mass at the root; neutral sentences left out, as SST's
binary task does) accuracy, on the gold trees and on raw text parsed by spaCy the way users call
it (each SST sentence detokenized, spaCy tokenizes and parses it; the sentence boundary is kept,
since an SST item is one sentence).

    python experiments/bundled/evaluate.py [SST_DIR] [--splits dev,test]
Writes experiments/bundled/accuracy.json and prints it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

import treernn
from treernn.corpora import load_sst
from treernn.parsing import SpacyParser
from treernn.trees import unescape_token


def score(predictions, gold) -> dict:
    fine = sum(p.label == g for p, g in zip(predictions, gold)) / len(gold)
    polar = [(p, g) for p, g in zip(predictions, gold) if g != 2]
    binary = sum((p.binary == "positive") == (g > 2) for p, g in polar) / len(polar)
    return {"fine": round(100 * fine, 2), "binary": round(100 * binary, 2), "sentences": len(gold),
            "binary_sentences": len(polar)}


def main() -> int:
    torch.set_num_threads(1)
    sst_dir = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "../shared/corpora/sst"
    splits = ["dev", "test"]
    if "--splits" in sys.argv:
        splits = sys.argv[sys.argv.index("--splits") + 1].split(",")
    data = dict(load_sst(sst_dir, classes=5).splits())
    predictor = treernn.load(max_tokens=None, max_chars=None)
    raw_parser = SpacyParser(one_tree_per_text=True)
    predictor_raw = treernn.load(parser=raw_parser, max_tokens=None, max_chars=None)
    out = {"model": "bundled (treernn/data/models/sst-fine)", "sst": str(sst_dir)}
    for split in splits:
        trees = data[split]
        gold = [t.label for t in trees]
        t0 = time.perf_counter()
        on_gold = predictor.predict_trees(predictor.shape(trees))
        t1 = time.perf_counter()
        texts = [" ".join(unescape_token(tok) for tok in t.tokens()) for t in trees]
        on_raw = predictor_raw.predict(texts)
        t2 = time.perf_counter()
        assert len(on_raw) == len(gold)
        out[split] = {"gold_trees": score(on_gold, gold), "raw_text_spacy": score(on_raw, gold),
                      "seconds": {"gold_trees": round(t1 - t0, 2), "raw_text": round(t2 - t1, 2)}}
    print(json.dumps(out, indent=2))
    Path(__file__).with_name("accuracy.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
