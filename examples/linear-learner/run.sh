#!/usr/bin/env bash
# Linear Learner on breast_cancer (benign = 1), end to end:
# train 32 models at once -> inspect metrics -> serve -> query -> batch transform.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ALGORUN=${ALGORUN:-$repo/build/algorun}
OUT=${OUT:-$(mktemp -d)}
PORT=${PORT:-8080}
DATA=$repo/tests/data/datasets

# 1. Train: a binary classifier whose threshold is calibrated for recall >= 0.9.
"$ALGORUN" run --algorithm linear-learner:1 --name cancer --output-dir "$OUT" \
    --channel "train=$DATA/breast_cancer.csv;text/csv" \
    --channel "validation=$DATA/breast_cancer.csv;text/csv" \
    --channel "test=$DATA/breast_cancer.csv;text/csv" \
    --hp predictor_type=binary_classifier --hp epochs=10 \
    --hp binary_classifier_model_selection_criteria=precision_at_target_recall \
    --hp target_recall=0.9

# 2. Inspect the final test metrics.
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); [print(m["MetricName"], m["Value"]) for m in j["FinalMetricDataList"] if m["MetricName"].startswith("test:")]' \
    "$OUT/cancer/job.json"

# 3. Serve and 4. query in JSON Lines.
"$ALGORUN" serve --model-dir "$OUT/cancer/model.tar.gz" --host 127.0.0.1 --port "$PORT" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null && break; sleep 0.1; done
head -2 "$DATA/breast_cancer.csv" | cut -d, -f2- | sed 's/^/{"features": [/; s/$/]}/' > "$OUT/rows.jsonl"
curl -sf -X POST -H "Content-Type: application/jsonlines" -H "Accept: application/jsonlines" \
    --data-binary @"$OUT/rows.jsonl" "http://127.0.0.1:$PORT/invocations"

# 5. Batch transform to JSON Lines.
mkdir -p "$OUT/batch-in"
cut -d, -f2- "$DATA/breast_cancer.csv" > "$OUT/batch-in/patients.csv"
"$ALGORUN" transform --model-dir "$OUT/cancer/model.tar.gz" --input "$OUT/batch-in" \
    --output "$OUT/batch-out" --content-type text/csv --accept application/jsonlines
head -2 "$OUT/batch-out/patients.csv.out"
