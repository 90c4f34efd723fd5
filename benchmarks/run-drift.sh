#!/usr/bin/env bash
# Reproduces the "drift" section of benchmarks/RESULTS-lifecycle.md: false drift alarms on unshifted streams and the
# detection delay of each test for each kind of shift, from Serve.dll's own detectors (DriftDetector) run in-process.
# Usage: benchmarks/run-drift.sh [MODEL_DIR]   (from the repository root; builds Release first)
#   MODEL_DIR: a version directory from Train.dll --export-model (model.ckpt, preprocess.json, reference.json). Without
#   it, v1 is trained first: 784,256,128,10, 3 epochs, 1 rank, seed 1 (about 5 minutes on a quiet 2-core machine).
#   DRIFT_ARGS passes more options to DriftBench (e.g. "--streams 20" for a quick check); DRIFT_DETECTORS=0 skips it.
# Needs: the Fashion-MNIST data (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DRIFT_DATA:-/usr/share/datasets/fashion-mnist}
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || { echo "run-drift: no Fashion-MNIST in $DATA: run scripts/setup.sh" >&2; exit 1; }
echo "== build"
dotnet build src/Training -c Release -v q -nologo 2>&1 | tail -n 2
dotnet build benchmarks/DriftBench -c Release -v q -nologo 2>&1 | tail -n 2
MODEL=${1:-}
if [ -z "$MODEL" ]; then
  WORK=$(mktemp -d /tmp/run-drift.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  MODEL=$WORK/models/fashion/1
  echo "== train v1"
  dotnet src/Training/bin/Release/net10.0/Train.dll --data "$DATA" --ranks 1 --epochs 3 --seed 1 --device cpu \
    --no-checkpoint --quiet --export-model "$MODEL"
fi
if [ "${DRIFT_DETECTORS:-1}" = 1 ]; then
  echo "== detectors"
  # shellcheck disable=SC2086
  dotnet benchmarks/DriftBench/bin/Release/net10.0/DriftBench.dll --model "$MODEL" --data "$DATA" ${DRIFT_ARGS:-}
fi

# The overhead on the inference path (DRIFT_OVERHEAD=1; needs wrk): Serve.dll with the model's reference.json (every
# 250 rows a window of 500 is tested in the background) against the same model without it (requests are still
# recorded for feedback, no window is tested); wrk, 16 connections, 1-row JSON requests, DRIFT_SECONDS (15) each.
[ "${DRIFT_OVERHEAD:-0}" = 1 ] || exit 0
command -v wrk >/dev/null || { echo "run-drift: wrk is missing: apt-get install -y wrk" >&2; exit 1; }
dotnet build src/Serving -c Release -v q -nologo 2>&1 | tail -n 2
OVER=$(mktemp -d /tmp/run-drift-overhead.XXXXXX)
PORT=${DRIFT_PORT:-18490}
SERVER_PID=""
stop_server() { [ -z "$SERVER_PID" ] || { kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }; }
trap 'stop_server; rm -rf "$OVER" ${WORK:+"$WORK"}' EXIT
mkdir -p "$OVER/with/fashion/1" "$OVER/without/fashion/1"
cp "$MODEL"/model.ckpt "$MODEL"/preprocess.json "$MODEL"/reference.json "$OVER/with/fashion/1/"
cp "$MODEL"/model.ckpt "$MODEL"/preprocess.json "$OVER/without/fashion/1/"
# One image of bytes i mod 256, as a 1-row infer request.
seq -s, 0 783 | awk -F, '{printf "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":["; for (i = 1; i <= NF; i++) printf "%s%d", (i > 1 ? "," : ""), $i % 256; printf "]}]}"}' > "$OVER/infer-1.json"
for variant in without with; do
  dotnet src/Serving/bin/Release/net10.0/Serve.dll --models "$OVER/$variant" --urls "http://127.0.0.1:$PORT" --log-format text > "$OVER/$variant.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && break; sleep 0.1; done
  echo "== drift $variant reference: wrk -t2 -c16 -d${DRIFT_SECONDS:-15}s --latency -s benchmarks/serving-wrk.lua http://127.0.0.1:$PORT/v2/models/fashion/infer"
  WRK_BODY=$OVER/infer-1.json wrk -t2 -c16 -d"${DRIFT_SECONDS:-15}"s --latency --timeout 5s -s benchmarks/serving-wrk.lua \
    "http://127.0.0.1:$PORT/v2/models/fashion/infer" | grep '^rps='
  curl -s "http://127.0.0.1:$PORT/metrics" | grep '^allreducenet_drift_windows_total' || echo "windows tested: 0"
  stop_server
done
