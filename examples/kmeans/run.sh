#!/usr/bin/env bash
# k-means on iris (the label column is skipped with label_size=1), end to end:
# train -> inspect metrics -> serve -> query -> batch transform.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ALGORUN=${ALGORUN:-$repo/build/algorun}
OUT=${OUT:-$(mktemp -d)}
PORT=${PORT:-8080}
DATA=$repo/tests/data/datasets

# 1. Train three clusters; the test channel reports msd and ssd.
"$ALGORUN" run --algorithm kmeans:1 --name iris --output-dir "$OUT" \
    --channel "train=$DATA/iris.csv;text/csv;label_size=1" \
    --channel "test=$DATA/iris.csv;text/csv;label_size=1" \
    --hp k=3 --hp feature_dim=4 --hp 'eval_metrics=["msd","ssd"]'

# 2. Inspect the final metrics.
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); [print(m["MetricName"], m["Value"]) for m in j["FinalMetricDataList"]]' \
    "$OUT/iris/job.json"

# 3. Serve and 4. query: nearest cluster and the distance to it.
"$ALGORUN" serve --model-dir "$OUT/iris/model.tar.gz" --host 127.0.0.1 --port "$PORT" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null && break; sleep 0.1; done
curl -sf -X POST -H "Content-Type: application/json" \
    --data '{"instances": [{"features": [5.1, 3.5, 1.4, 0.2]}, {"features": [6.7, 3.0, 5.2, 2.3]}]}' \
    "http://127.0.0.1:$PORT/invocations"
echo

# 5. Batch transform with the input joined to the output: features, then cluster and distance.
mkdir -p "$OUT/batch-in"
cut -d, -f2- "$DATA/iris.csv" > "$OUT/batch-in/iris.csv"
"$ALGORUN" transform --model-dir "$OUT/iris/model.tar.gz" --input "$OUT/batch-in" \
    --output "$OUT/batch-out" --content-type text/csv --accept text/csv --join-source Input
head -3 "$OUT/batch-out/iris.csv.out"
