#!/usr/bin/env bash
# The SST experiment of the README (after Tai et al. 2015, Table 2), as it was run here:
# every model of the table, 5 seeds, fine-grained and binary; then vector ablations
# (constituency Tree-LSTM with 50-d GloVe and with random vectors; BiLSTM with 50-d GloVe),
# fine-grained only. Three streams run side by side with one torch thread each (2 cores).
# Finished runs are reused, so the script continues an interrupted experiment.
# Results: experiments/sst/{sst.md,sst.json,sst-curves.png,ablation.json}; run directories
# (weights) in runs/sst (not committed). About two hours on 2 cores.
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

ablation() {  # NAME MODEL [train options...]: 5 seeds, fine-grained, into $OUT/ablation/NAME-seedK
    local name=$1 model=$2
    shift 2
    for seed in 0 1 2 3 4; do
        local d=$OUT/ablation/$name-seed$seed
        [ -f "$d/metrics.json" ] || $T train --model "$model" --corpus sst --data-path "$SST" --epochs 10 \
            --seed $seed --device cpu --trainer.progress false --out "$d" "$@"
    done
}

# Three streams (as the table was produced here; any split gives the same runs).
{
    $T compare sst --models tree-lstm,child-sum-tree-lstm --vectors "$VEC" "${common[@]}"
    ablation tree-lstm-glove50 tree-lstm --vectors "$GLOVE" --model.input_dim 50 --data.lowercase true
    ablation bilstm-glove50 bilstm --vectors "$GLOVE" --model.input_dim 50 --data.lowercase true \
        --model.hidden_dim 168
    $T compare sst --models rntn --vectors "$VEC" "${common[@]}"
} > "$OUT.stream1.log" 2>&1 &
{
    $T compare sst --models bilstm-2layer,rnn --vectors "$VEC" "${common[@]}"
} > "$OUT.stream2.log" 2>&1 &
{
    $T compare sst --models lstm,bilstm,lstm-2layer --vectors "$VEC" "${common[@]}"
    ablation tree-lstm-random tree-lstm
} > "$OUT.stream3.log" 2>&1 &
wait

# One table over all models (reads the finished runs, trains nothing), and the ablation summary.
$T compare sst --vectors "$VEC" "${common[@]}" > "$OUT.table.log" 2>&1
cp "$OUT/sst.md" "$OUT/sst.json" experiments/sst/
cp "$OUT/sst-curves.png" experiments/sst/ 2>/dev/null || true
.venv/bin/python - "$OUT" <<'PY'
import json, statistics, sys
from pathlib import Path
out = Path(sys.argv[1])
summary = {}
for d in sorted({p.parent.name.rsplit("-seed", 1)[0] for p in out.glob("ablation/*/metrics.json")}):
    runs = [json.loads(p.read_text()) for p in sorted(out.glob(f"ablation/{d}-seed*/metrics.json"))]
    test = [100 * r["test"]["accuracy"] for r in runs]
    summary[d] = {"seeds": len(runs), "test": test, "dev": [100 * r["dev"]["accuracy"] for r in runs],
                  "test_mean": statistics.fmean(test), "test_std": statistics.stdev(test) if len(test) > 1 else 0.0,
                  "best_epochs": [r["best_epoch"] for r in runs]}
    print(f"{d}: test fine-grained {summary[d]['test_mean']:.1f} ± {summary[d]['test_std']:.1f} ({len(runs)} seeds)")
Path("experiments/sst/ablation.json").write_text(json.dumps(summary, indent=2) + "\n")
PY
