#!/usr/bin/env bash
# The SST experiment of the README (after Tai et al. 2015, Table 2), as it was run here:
# every model of the table, 5 seeds, fine-grained and binary, then two vector ablations of the
# constituency Tree-LSTM (50-d GloVe; random vectors). Two streams run side by side with one
# torch thread each (2 cores). Results: experiments/sst/{sst.md,sst.json,sst-curves.png,ablation.json}.
# The run directories (weights) go to runs/sst (not committed). Takes about 1.5 hours on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=.venv/bin/treernn
SST=${SST:-../shared/corpora/sst}
VEC=${VEC:-../shared/vectors/spacy-md.300d.sst.txt}
GLOVE=${GLOVE:-../shared/vectors/glove.6B.50d.sst.txt}
OUT=${OUT:-runs/sst}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"
common=(--seeds 5 --epochs 10 --data-path "$SST" --device cpu --out "$OUT")
{
    $T compare sst --models tree-lstm,child-sum-tree-lstm,rntn --vectors "$VEC" "${common[@]}"
    for seed in 0 1 2 3 4; do
        d=$OUT/ablation/glove50-seed$seed
        [ -f "$d/metrics.json" ] || $T train --model tree-lstm --corpus sst --data-path "$SST" \
            --vectors "$GLOVE" --model.input_dim 50 --data.lowercase true --epochs 10 --seed $seed \
            --trainer.progress false --out "$d"
    done
} > "$OUT.stream1.log" 2>&1 &
{
    $T compare sst --models lstm,bilstm,lstm-2layer,bilstm-2layer,rnn --vectors "$VEC" "${common[@]}"
    for seed in 0 1 2 3 4; do
        d=$OUT/ablation/random-seed$seed
        [ -f "$d/metrics.json" ] || $T train --model tree-lstm --corpus sst --data-path "$SST" \
            --epochs 10 --seed $seed --trainer.progress false --out "$d"
    done
} > "$OUT.stream2.log" 2>&1 &
wait
# One table over all models (reads the finished runs, trains nothing), and the ablation summary.
$T compare sst --vectors "$VEC" "${common[@]}" > "$OUT.table.log"
cp "$OUT/sst.md" "$OUT/sst.json" experiments/sst/
cp "$OUT/sst-curves.png" experiments/sst/ 2>/dev/null || true
.venv/bin/python - "$OUT" <<'PY'
import json, statistics, sys
from pathlib import Path
out = Path(sys.argv[1])
summary = {}
for name in ("glove50", "random"):
    runs = [json.loads(p.read_text()) for p in sorted(out.glob(f"ablation/{name}-seed*/metrics.json"))]
    acc = [100 * r["test"]["accuracy"] for r in runs]
    dev = [100 * r["dev"]["accuracy"] for r in runs]
    summary[name] = {"seeds": len(runs), "test": acc, "dev": dev,
                     "test_mean": statistics.fmean(acc), "test_std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                     "best_epochs": [r["best_epoch"] for r in runs]}
    print(f"{name}: test fine-grained {summary[name]['test_mean']:.1f} ± {summary[name]['test_std']:.1f} over {len(runs)} seeds")
Path("experiments/sst/ablation.json").write_text(json.dumps(summary, indent=2))
PY
