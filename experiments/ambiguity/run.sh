#!/usr/bin/env bash
# The ambiguous-parse experiment of docs/experiments.md: every tree and sequence model of
# `treernn compare ambiguity` (the recipe of treernn/training/presets.py: 50-d inputs, hidden 50,
# Adam 0.01 with the word embeddings by SGD 0.1, dropout 0.5, 10 epochs, no early stopping, the
# best epoch on dev), 3 seeds, on the bundled corpora (corpora/ambiguity). The tree models
# and the sequence models train side by side, one torch thread each (about 25 minutes on 2
# cores); a last compare of every model (reusing the finished runs) writes the table.
# Results: experiments/ambiguity/{ambiguity.md, ambiguity.json, ambiguity-curves.png}; run
# directories in runs/ambiguity (not committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-runs/ambiguity}
T=.venv/bin/treernn
OMP_NUM_THREADS=1 $T compare ambiguity --models tree-lstm,child-sum-tree-lstm,rnn,rntn --seeds 3 \
    --out "$OUT" --device cpu > "$OUT.trees.log" 2>&1 &
OMP_NUM_THREADS=1 $T compare ambiguity --models lstm,bilstm,gru,elman --seeds 3 \
    --out "$OUT" --device cpu > "$OUT.sequences.log" 2>&1 &
wait
$T compare ambiguity --seeds 3 --out "$OUT" --device cpu
cp "$OUT/ambiguity.md" "$OUT/ambiguity.json" experiments/ambiguity/
cp "$OUT/ambiguity-curves.png" experiments/ambiguity/ 2>/dev/null || true
