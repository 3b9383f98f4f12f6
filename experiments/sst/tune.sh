#!/usr/bin/env bash
# Constituency Tree-LSTM, GloVe 6B 50-d, fine-grained: one change at a time against the
# table's recipe, judged on dev only (docs/experiments.md, "Pushing the constituency Tree-LSTM"). Pilot: seeds 0-1; a change that
# moved dev gets seeds 0-4 (its ablation row). Usage: tune.sh NAME "SEEDS" [train options...]
# Results: runs/sst-tune/NAME-seedK (metrics.json, log.jsonl); summary by tune_summary.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 seeds=$2
shift 2
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
for seed in $seeds; do
    d=runs/sst-tune/$name-seed$seed
    [ -f "$d/metrics.json" ] || .venv/bin/treernn train --model tree-lstm --model.hidden_dim 150 --corpus sst \
        --data-path "${SST:-../shared/corpora/sst}" --vectors "${VEC:-../shared/vectors/glove.6B.50d.sst.txt}" \
        --epochs 10 --seed "$seed" --device cpu --trainer.progress false --out "$d" "$@" > /dev/null 2>&1
done
