#!/usr/bin/env bash
# The ambiguity recipe's check (issue 13): the N-ary Tree-LSTM of `treernn compare ambiguity`,
# 10 seeds, with 1 torch thread and with 2 (float rounding differs between them, as between
# machines), and the LSTM / BiLSTM with 1 thread (they must stay at chance on ambiguous attach
# items). About 25 minutes on 2 cores: the 1-thread runs go two at a time, the 2-thread run alone.
# Results: experiments/ambiguity/recipe-threads{1,2}.{md,json} and recipe-sequence.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-runs/recipe}
T=.venv/bin/treernn
OMP_NUM_THREADS=1 $T compare ambiguity --models tree-lstm --seeds 10 --out "$OUT/t1-tree" --device cpu &
OMP_NUM_THREADS=1 $T compare ambiguity --models lstm,bilstm --seeds 10 --out "$OUT/t1-seq" --device cpu &
wait
OMP_NUM_THREADS=2 $T compare ambiguity --models tree-lstm --seeds 10 --out "$OUT/t2-tree" --device cpu
for pair in "t1-tree recipe-threads1" "t2-tree recipe-threads2" "t1-seq recipe-sequence"; do
    set -- $pair
    cp "$OUT/$1/ambiguity.md" "experiments/ambiguity/$2.md"
    cp "$OUT/$1/ambiguity.json" "experiments/ambiguity/$2.json"
done
