#!/usr/bin/env bash
# Seconds of one training epoch, sentence-trained vs phrase-trained (data.phrases, 1,000-token
# batches), for the LSTM and the BiLSTM of the SST table (GloVe 6B 50-d), with 1 and 2 torch
# threads. Run on a quiet machine. Prints one line per run; the ratio is phrases / sentences.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
for threads in 1 2; do
    for model in lstm bilstm; do
        for mode in sentences phrases; do
            extra=()
            [ $mode = phrases ] && extra=(--data.phrases true --trainer.batch_tokens 1000)
            OMP_NUM_THREADS=$threads .venv/bin/treernn train --model $model --model.hidden_dim 168 --corpus sst \
                --data-path "${SST:-../shared/corpora/sst}" --vectors "${VEC:-../shared/vectors/glove.6B.50d.sst.txt}" \
                --epochs 1 --device cpu --trainer.progress false --out "$out/$threads-$model-$mode" "${extra[@]}" > /dev/null 2>&1
            secs=$(.venv/bin/python -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['train_seconds'])" \
                "$out/$threads-$model-$mode/log.jsonl")
            echo "threads=$threads model=$model mode=$mode epoch_seconds=$secs"
        done
    done
done
rm -rf "$out"
