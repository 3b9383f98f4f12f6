"""The constituency Tree-LSTM's two recipes side by side, 5 seeds, fine-grained and binary, dev
and test (docs/experiments.md, "Pushing the constituency Tree-LSTM"): Tai et al.'s settings (10 epochs, no
dropout on the word vectors; the table's row before the tuning, runs moved to
runs/sst-glove50-treelstm10) and the tuned recipe (dropout 0.2 on the word vectors, up to 20
epochs; runs/sst-glove50).

    python experiments/sst/recipes.py
Writes experiments/sst/tree-lstm-recipes.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RECIPES = {"Tai et al.'s settings (10 epochs)": Path("runs/sst-glove50-treelstm10/runs/sst"),
           "+ dropout 0.2 on the word vectors, up to 20 epochs": Path("runs/sst-glove50/runs/sst")}


def _fmt(values: list[float]) -> str:
    return f"{statistics.fmean(values):.1f} ± {statistics.stdev(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main() -> None:
    out = {}
    print("| recipe | seeds | dev fine | test fine | dev binary | test binary | best epochs (fine) |")
    print("|---|---|---|---|---|---|---|")
    for name, root in RECIPES.items():
        row = {}
        for task in ("fine", "binary"):
            runs = [json.loads(p.read_text()) for p in sorted(root.glob(f"{task}/tree-lstm-seed*/metrics.json"))]
            row[task] = {"dev": [round(100 * m["dev"]["accuracy"], 2) for m in runs],
                         "test": [round(100 * m["test"]["accuracy"], 2) for m in runs],
                         "best_epoch": [m["best_epoch"] for m in runs]}
        out[name] = row
        f, b = row["fine"], row["binary"]
        print(f"| {name} | {len(f['test'])} | {_fmt(f['dev'])} | {_fmt(f['test'])} | {_fmt(b['dev'])} | "
              f"{_fmt(b['test'])} | {', '.join(map(str, f['best_epoch']))} |")
    Path("experiments/sst/tree-lstm-recipes.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
