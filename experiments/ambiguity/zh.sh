#!/usr/bin/env bash
# The founding example's column of the ambiguity table (docs/experiments.md, README) (issue 29): ambiguity-zh
# (两个外语学院的学生) only, the ambiguity recipe: the N-ary Tree-LSTM on 10 seeds, every model
# of the table (the Tree-LSTM too) on 3; two one-thread processes. Results: experiments/ambiguity/zh-*.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-runs/ambiguity-zh}
T=.venv/bin/treernn
OMP_NUM_THREADS=1 $T compare ambiguity --tasks zh --models tree-lstm --seeds 10 --out "$OUT/tree10" --device cpu \
    > "$OUT.tree10.log" 2>&1 &
OMP_NUM_THREADS=1 $T compare ambiguity --tasks zh --models tree-lstm,child-sum-tree-lstm,rnn,rntn,lstm,bilstm,gru,elman \
    --seeds 3 --out "$OUT/all3" --device cpu > "$OUT.all3.log" 2>&1
wait
cp "$OUT/tree10/ambiguity.md" experiments/ambiguity/zh-tree-lstm-10seeds.md
cp "$OUT/tree10/ambiguity.json" experiments/ambiguity/zh-tree-lstm-10seeds.json
cp "$OUT/all3/ambiguity.md" experiments/ambiguity/zh-3seeds.md
cp "$OUT/all3/ambiguity.json" experiments/ambiguity/zh-3seeds.json
