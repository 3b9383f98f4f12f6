"""Summarise the Tree-LSTM tuning runs (experiments/sst/tune.sh) against the table's recipe on
the same seeds: dev accuracy (fine-grained) per change, mean ± std (min-max), best epochs.
Test accuracy is not read here: tuning looks at dev only.

    python experiments/sst/tune_summary.py [runs/sst-tune] [runs/sst-glove50-treelstm10]
(the second: the runs of the recipe before the tuning, moved there when the table took the tuned one)
Writes experiments/sst/tuning.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def _runs(pattern_dir: Path, prefix: str) -> dict[int, dict]:
    out = {}
    for metrics in sorted(pattern_dir.glob(f"{prefix}-seed*/metrics.json")):
        seed = int(metrics.parent.name.rsplit("-seed", 1)[1])
        m = json.loads(metrics.read_text())
        out[seed] = {"dev": 100 * m["dev"]["accuracy"], "best_epoch": m["best_epoch"]}
    return out


def _fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.fmean(values):.1f} ± {statistics.stdev(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main() -> int:
    tune = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/sst-tune")
    table = Path(sys.argv[2] if len(sys.argv) > 2 else "runs/sst-glove50-treelstm10") / "runs" / "sst" / "fine"
    base = _runs(table, "tree-lstm")
    names = sorted({p.parent.name.rsplit("-seed", 1)[0] for p in tune.glob("*-seed*/metrics.json")})
    summary = {"baseline": {"runs": base}}
    print("| change | seeds | dev (change) | dev (recipe, same seeds) | difference | best epochs |")
    print("|---|---|---|---|---|---|")
    for name in names:
        runs = _runs(tune, name)
        seeds = sorted(s for s in runs if s in base)
        dev = [runs[s]["dev"] for s in seeds]
        ref = [base[s]["dev"] for s in seeds]
        diff = statistics.fmean(dev) - statistics.fmean(ref)
        summary[name] = {"runs": runs, "seeds": seeds, "dev_mean": statistics.fmean(dev),
                         "recipe_dev_mean": statistics.fmean(ref), "difference": diff}
        print(f"| {name} | {len(seeds)} | {_fmt(dev)} | {_fmt(ref)} | {diff:+.2f} | "
              f"{', '.join(str(runs[s]['best_epoch']) for s in seeds)} |")
    Path("experiments/sst/tuning.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
