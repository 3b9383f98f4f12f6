"""What one long sentence costs in the pipeline (docs/pipeline.md, "Bounded input"): a right-branching
sentence of n words (n tree levels of one node each) through the bundled model, with the model
on 1 torch thread (the default) and on 2, plus spaCy's parse of the same words as raw text.
Best of 3 per figure; run it on a quiet machine.

    python benchmarks/long_sentence.py > benchmarks/long-sentence.txt
"""

from __future__ import annotations

import json
import time

import torch

import treernn
from treernn.trees import right_branching_tree

WORDS = "the film is good and the plot is bad but".split()


def best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(2)
        predictor = treernn.load(max_tokens=None, max_chars=None, threads=threads)
        predictor(["warm up the parser and the model."])
        for n in (100, 1000, 5000):
            tokens = [WORDS[i % len(WORDS)] for i in range(n)]
            tree = predictor.shape([right_branching_tree(tokens)])[0]
            model_s = best(lambda: predictor.predict_trees([tree]))
            parse_s = best(lambda: predictor.trees([" ".join(tokens)]))
            rows.append({"tokens": n, "model_threads": threads, "model_seconds": round(model_s, 3),
                         "parse_seconds": round(parse_s, 3)})
            print(f"{n:>5} tokens, model on {threads} thread(s): model {model_s:.3f} s, spaCy parse "
                  f"{parse_s:.3f} s", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
