#!/usr/bin/env bash
# The ambiguous-parse experiment of the README: every tree and sequence model of
# `treernn compare ambiguity` (50-d inputs, hidden 50, Adam 0.01 with the embeddings by SGD 0.1,
# dropout 0.5, 10 epochs, no early stopping), 3 seeds, on the bundled corpus (treernn/data/ambiguity). Results: experiments/ambiguity/{ambiguity.md,
# ambiguity.json, ambiguity-curves.png}; run directories in runs/ambiguity (not committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-runs/ambiguity}
.venv/bin/treernn compare ambiguity --seeds 3 --out "$OUT" --device cpu
cp "$OUT/ambiguity.md" "$OUT/ambiguity.json" experiments/ambiguity/
cp "$OUT/ambiguity-curves.png" experiments/ambiguity/ 2>/dev/null || true
