"""The SST tuning studies in one table (issue 28): per model, its trials (complete / pruned /
failed), the compute they took, the best dev score and its settings, and how each setting's
value ranks with dev over the complete trials (Spearman's rho: a hint, not a measurement, on
a dozen trials).

    python experiments/sst/tuning/summary.py      # writes experiments/sst/tuning/summary.{md,json}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
MODELS = ["lstm", "bilstm", "bilstm-2layer", "bilstm-phrases", "child-sum-tree-lstm", "tree-lstm"]
SHORT = {"trainer.lr": "lr", "trainer.embedding_lr": "emb lr", "model.input_dropout": "in drop",
         "model.dropout": "out drop", "model.hidden_dim": "H", "trainer.epochs": "epochs"}


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def main() -> int:
    untuned = json.loads((HERE.parent / "sst.json").read_text())["table"]["fine"]  # the untuned table's runs
    rows, out = [], {}
    for model in MODELS:
        path = HERE / model / "trials.json"
        if not path.exists():
            continue
        summary = json.loads(path.read_text())
        complete = [t for t in summary["trials"] if t["state"] == "complete"]
        best = max(complete, key=lambda t: t["value"]) if complete else None
        rho = {}
        for name in (best["params"] if best else {}):
            values = [t["params"][name] for t in complete]
            if len(set(values)) > 1 and len(complete) >= 4:
                rho[name] = round(float(spearmanr(values, [t["value"] for t in complete]).statistic), 2)
        out[model] = {"trials": summary["trials_asked"], "complete": summary["complete"], "pruned": summary["pruned"],
                      "failed": summary["failed"], "seconds": summary["seconds"],
                      "best_dev": best["value"] if best else None, "best_trial": best["number"] if best else None,
                      "best_params": best["params"] if best else None, "spearman_with_dev": rho,
                      "untuned_dev_mean_5_seeds": untuned[model]["dev"][0] if model in untuned else None}
        settings = ", ".join(f"{SHORT.get(k, k)} {_fmt(v)}" for k, v in (best["params"] if best else {}).items())
        moved = ", ".join(f"{SHORT.get(k, k)} {v:+.2f}" for k, v in sorted(rho.items(), key=lambda kv: -abs(kv[1])))
        before = f"{untuned[model]['dev'][0]:.2f}" if model in untuned else "–"
        rows.append(f"| {model} | {summary['complete']} / {summary['pruned']} / {summary['failed']} of "
                    f"{summary['trials_asked']} | {summary['seconds'] / 60:.0f} | {before} | "
                    f"{100 * best['value']:.2f} | {settings} | {moved} |" if best else f"| {model} | – | – | – | – | – | – |")
    lines = ["SST fine-grained, `treernn tune` (Optuna TPE, median pruner), dev accuracy (%), GloVe 6B 50-d; trials "
             "run by two one-thread workers; compute: the trials' seconds summed (minutes); untuned dev: the mean of "
             "the untuned table's 5 seeds (experiments/sst/sst.json).", "",
             "| model | complete / pruned / failed | compute (min) | untuned dev (5 seeds) | best dev (seed 0) | best settings | "
             "rank correlation with dev |", "|---|---|---|---|---|---|---|", *rows]
    (HERE / "summary.md").write_text("\n".join(lines) + "\n")
    (HERE / "summary.json").write_text(json.dumps(out, indent=2) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
