#!/usr/bin/env bash
# The SST experiment of docs/experiments.md (after Tai et al. 2015, Table 2), as it is run here: every
# model of the table, 5 seeds, fine-grained and binary, with the better of the two vector files
# here, GloVe 6B 50-d filtered to SST's words (input size 50 and lowercasing follow from the
# file). Three streams run side by side with one torch thread each (2 cores). Finished runs are
# reused, so the script continues an interrupted experiment.
# Results: experiments/sst/{sst.md,sst.json,sst-curves.png}; run directories (weights) in
# runs/sst-glove50 (not committed).
# The spaCy-md 300-d column (the ablation) is experiments/sst/spacy-md/, made by the same
# commands with VEC=../shared/vectors/spacy-md.300d.sst.txt OUT=runs/sst.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=.venv/bin/treernn
SST=${SST:-../shared/corpora/sst}
VEC=${VEC:-../shared/vectors/glove.6B.50d.sst.txt}
OUT=${OUT:-runs/sst-glove50}
SEEDS=${SEEDS:-5}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"
# epochs: each model's preset (training/presets.py): 10, the constituency Tree-LSTM's recipe 20
common=(--seeds "$SEEDS" --data-path "$SST" --vectors "$VEC" --device cpu --out "$OUT")

# Three streams, most-read rows first (any split gives the same runs).
{
    for m in tree-lstm bilstm rnn lstm-2layer; do $T compare sst --models $m "${common[@]}"; done
} > "$OUT.stream1.log" 2>&1 &
{
    for m in lstm child-sum-tree-lstm rntn bilstm-2layer; do $T compare sst --models $m "${common[@]}"; done
} > "$OUT.stream2.log" 2>&1 &
{   # the supervision control: sequence models trained on every labeled phrase
    for m in lstm-phrases bilstm-phrases bilstm-2layer-phrases; do $T compare sst --models $m "${common[@]}"; done
} > "$OUT.stream3.log" 2>&1 &
wait

# One table over all models (reads the finished runs, trains nothing).
$T compare sst "${common[@]}" > "$OUT.table.log" 2>&1
cp "$OUT/sst.md" "$OUT/sst.json" experiments/sst/
cp "$OUT/sst-curves.png" experiments/sst/ 2>/dev/null || true
