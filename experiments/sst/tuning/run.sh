#!/usr/bin/env bash
# Equal tuning on SST fine-grained (issue 28): each model the same number of trials of its
# default space (treernn.training.presets.default_space), judged on dev, two one-thread worker
# processes per study; studies one after another. Resumable: run it again and every study
# continues from what is on disk (experiments/sst/tuning/MODEL/). Progress: tuning/tune.log.
#
#   nohup bash experiments/sst/tuning/run.sh > /dev/null 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=experiments/sst/tuning
echo $$ > $here/run.pid
TRIALS=${TRIALS:-12}
for model in ${MODELS:-lstm bilstm bilstm-2layer child-sum-tree-lstm tree-lstm bilstm-phrases}; do
    dir=$here/$model
    if [ -f "$dir/tune.json" ]; then
        args=(--resume "$dir" --trials "$TRIALS")
    else
        args=(--model "$model" --corpus sst --data-path "${SST:-../shared/corpora/sst}"
              --vectors "${VEC:-../shared/vectors/glove.6B.50d.sst.txt}" --device cpu --out "$dir"
              --trials "$TRIALS")
    fi
    echo "== $(date -u +%FT%TZ) $model" >> $here/tune.log
    .venv/bin/treernn tune "${args[@]}" --jobs 2 >> $here/tune.log 2>&1
done
echo "== $(date -u +%FT%TZ) done" >> $here/tune.log
rm -f $here/run.pid
