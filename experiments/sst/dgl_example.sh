#!/usr/bin/env bash
# DGL's own Tree-LSTM example beside treernn's (docs/experiments.md, "SST"): the example's code from DGL's
# repository at tag v1.1.3 (the installed DGL), extracted outside the project, trained on the
# same SST files with the same GloVe 6B 50-d vectors and seeds as treernn's Tree-LSTM row, for
# the same 10 epochs (its own default is 100 with early stopping after 10 without improvement).
#   DGL_SOURCE=/path/to/dgl/checkout-or-bare-repo bash experiments/sst/dgl_example.sh
# (Not DGL_REPO: DGL itself reads that variable as its download server.)
# Results: experiments/sst/dgl-example.json (per seed and mean ± std); work folders in
# runs/dgl-example (not committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
DGL_SOURCE=${DGL_SOURCE:?set DGL_SOURCE to a clone of https://github.com/dmlc/dgl}
SST=${SST:-../shared/corpora/sst}
VEC=${VEC:-../shared/vectors/glove.6B.50d.sst.txt}
OUT=${OUT:-runs/dgl-example}
EPOCHS=${EPOCHS:-10}
SEEDS=${SEEDS:-"0 1 2 3 4"}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
EX=$(mktemp -d)/dgl
mkdir -p "$EX" "$OUT"
git -C "$DGL_SOURCE" archive v1.1.3 examples/pytorch/tree_lstm | tar -x -C "$EX"
for seed in $SEEDS; do
    [ -f "$OUT/seed$seed.json" ] || .venv/bin/python experiments/sst/dgl_example.py \
        --example "$EX/examples/pytorch/tree_lstm" --sst "$SST" --vectors "$VEC" --seed "$seed" \
        --epochs "$EPOCHS" --out "$OUT/seed$seed.json" > "$OUT/seed$seed.log" 2>&1
done
.venv/bin/python - "$OUT" <<'PY'
import json, statistics, sys
from pathlib import Path
runs = [json.loads(p.read_text()) for p in sorted(Path(sys.argv[1]).glob("seed*.json"))]
test = [100 * r["test_accuracy"] for r in runs]
summary = {"example": "dmlc/dgl v1.1.3 examples/pytorch/tree_lstm", "runs": runs, "test": test,
           "test_mean": statistics.fmean(test), "test_std": statistics.stdev(test) if len(test) > 1 else 0.0,
           "test_min": min(test), "test_max": max(test)}
Path("experiments/sst/dgl-example.json").write_text(json.dumps(summary, indent=2) + "\n")
print(f"DGL example: test fine-grained {summary['test_mean']:.1f} ± {summary['test_std']:.1f} "
      f"({summary['test_min']:.1f}-{summary['test_max']:.1f}), {len(runs)} seeds")
PY
