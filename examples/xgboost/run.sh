#!/usr/bin/env bash
# Gradient-boosted trees on abalone (predict the number of rings), end to end:
# train -> inspect metrics -> serve -> query -> batch transform.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ALGORUN=${ALGORUN:-$repo/build/algorun}
OUT=${OUT:-$(mktemp -d)}
PORT=${PORT:-8080}
DATA=$repo/tests/data/datasets

# 1. Train: 50 rounds of depth-5 trees, validation metrics every round.
"$ALGORUN" run --algorithm xgboost:1.7-1 --name abalone --output-dir "$OUT" \
    --channel "train=$DATA/abalone_train.csv;text/csv" \
    --channel "validation=$DATA/abalone_validation.csv;text/csv" \
    --hp num_round=50 --hp max_depth=5 --hp eta=0.2 --hp objective=reg:squarederror

# 2. Inspect: the final metrics as SageMaker would record them.
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); [print(m["MetricName"], m["Value"]) for m in j["FinalMetricDataList"]]' \
    "$OUT/abalone/job.json"

# 3. Serve the packed model and 4. query it with curl.
"$ALGORUN" serve --model-dir "$OUT/abalone/model.tar.gz" --host 127.0.0.1 --port "$PORT" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null && break; sleep 0.1; done
head -3 "$DATA/abalone_validation.csv" | cut -d, -f2- > "$OUT/rows.csv"
echo "predicted rings for 3 abalones:"
curl -sf -X POST -H "Content-Type: text/csv" --data-binary @"$OUT/rows.csv" \
    "http://127.0.0.1:$PORT/invocations"
curl -sf -X POST -H "Content-Type: text/csv" -H "Accept: application/json" \
    --data-binary @"$OUT/rows.csv" "http://127.0.0.1:$PORT/invocations"
echo

# 5. Batch transform: every row of the validation set, file to file.
cut -d, -f2- "$DATA/abalone_validation.csv" > "$OUT/validation-features.csv"
mkdir -p "$OUT/batch-in" && mv "$OUT/validation-features.csv" "$OUT/batch-in/"
"$ALGORUN" transform --model-dir "$OUT/abalone/model.tar.gz" --input "$OUT/batch-in" \
    --output "$OUT/batch-out" --content-type text/csv
echo "batch output: $(wc -l < "$OUT/batch-out/validation-features.csv.out") predictions in $OUT/batch-out"
