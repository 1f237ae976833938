#!/usr/bin/env bash
# The README's main job, end to end on bundled sample data: train the tree learner on abalone
# with a validation channel, then score the validation set with batch transform.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/algorun
OUT=${OUT:-demo-out}
DATA=tests/data/datasets
name="abalone-$(date +%Y%m%d-%H%M%S)"

$BIN --version | head -3
echo
$BIN run --algorithm xgboost:1.7-1 --name "$name" --output-dir "$OUT" \
    --channel "train=$DATA/abalone_train.csv;text/csv" \
    --channel "validation=$DATA/abalone_validation.csv;text/csv" \
    --hp num_round=50 --hp max_depth=5 --hp eta=0.2
mkdir -p "$OUT/$name-batch"
cut -d, -f2- "$DATA/abalone_validation.csv" > "$OUT/$name-batch/abalone.csv"
$BIN transform --model-dir "$OUT/$name/model.tar.gz" --input "$OUT/$name-batch" \
    --output "$OUT/$name-predictions" --content-type text/csv
echo
echo "model:       $OUT/$name/model.tar.gz  (XGBoost JSON inside: xgboost-model)"
echo "job record:  $OUT/$name/job.json"
echo "predictions: $OUT/$name-predictions/abalone.csv.out ($(wc -l < "$OUT/$name-predictions/abalone.csv.out") rows), first three:"
head -3 "$OUT/$name-predictions/abalone.csv.out"
echo "serve it:    $BIN serve --model-dir $OUT/$name/model.tar.gz --port 8080"
