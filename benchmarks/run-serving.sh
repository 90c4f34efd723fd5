#!/usr/bin/env bash
# Reproduces benchmarks/RESULTS-serving.md: Serve.dll under load over loopback, every figure from this one run.
# Usage: benchmarks/run-serving.sh   (from the repository root; builds Release first; about 6 minutes with the default
#        30 s runs; SERVING_SECONDS=5 for a quick check, which also writes the results file)
# Needs: wrk (apt-get install wrk), the Fashion-MNIST data (scripts/setup.sh), curl. Ports 18480-18481 (SERVING_PORT).
# Runs: the in-process forward limit and JSON parse timing; wrk, 64 connections, against Serve with dynamic batching
# (1-row and 16-row requests, as JSON and as binary tensor data, and /v2/health/live as the HTTP floor) and with --max-batch 1; an open loop at half the
# saturating rate; 10% bad requests mixed in; version 2 loaded under load. Every server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SERVING_SECONDS:-30}
PORT=${SERVING_PORT:-18480}
CONNECTIONS=64
KEY=run-serving-key
command -v wrk >/dev/null || { echo "run-serving: wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "run-serving: curl is missing: apt-get install -y curl" >&2; exit 1; }
DATA=${SERVING_DATA:-/usr/share/datasets/fashion-mnist}
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || { echo "run-serving: no Fashion-MNIST in $DATA: run scripts/setup.sh" >&2; exit 1; }

echo "== build"
dotnet build benchmarks/ServingLoad -c Release -v q -nologo 2>&1 | tail -n 2
TOOL="dotnet benchmarks/ServingLoad/bin/Release/net10.0/ServingLoad.dll"
SERVE=src/Serving/bin/Release/net10.0/Serve.dll
TRAIN=src/Training/bin/Release/net10.0/Train.dll

WORK=$(mktemp -d /tmp/run-serving.XXXXXX)
FIGURES=$WORK/figures.txt
SERVER_PID=""
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  # SIGTERM: Serve answers what it holds and exits; KILL only if it has not after 30 s.
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

start_server() {  # start_server PORT ARGS...: Serve on 127.0.0.1:PORT, waits until ready (60 s at most)
  local port=$1; shift
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "run-serving: port $port is taken (set SERVING_PORT)" >&2; exit 1; fi
  ALLREDUCENET_SERVING_API_KEY=$KEY dotnet "$SERVE" --models "$WORK/repo" --urls "http://127.0.0.1:$port" "$@" > "$WORK/serve-$port.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/v2/health/ready" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "run-serving: Serve exited:" >&2; cat "$WORK/serve-$port.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "run-serving: Serve was not ready within 60 s" >&2; exit 1
}

wrk_run() {  # wrk_run NAME PORT PATH BODY_FILE(or "") [HEADER_LENGTH: the body is binary tensor data]
  local name=$1 port=$2 path=$3 body=$4 header_length=${5:-}
  echo "== $name: wrk -t2 -c$CONNECTIONS -d${SECONDS_PER_RUN}s --latency --timeout 5s -s benchmarks/serving-wrk.lua http://127.0.0.1:$port$path ${body:+(body $(basename "$body"))}"
  local line
  line=$(WRK_BODY=$body WRK_HEADER_LENGTH=$header_length timeout $((SECONDS_PER_RUN + 60)) wrk -t2 -c$CONNECTIONS -d${SECONDS_PER_RUN}s --latency --timeout 5s \
    -s benchmarks/serving-wrk.lua "http://127.0.0.1:$port$path" | tee "$WORK/$name.txt" | grep '^rps=')
  echo "name=$name $line" | tee -a "$FIGURES"
}

tool() { timeout $((SECONDS_PER_RUN + 120)) $TOOL "$@" | tee -a "$FIGURES"; }

echo "name=machine loadavg_before=$(cut -d' ' -f1 /proc/loadavg)" > "$FIGURES.machine"

echo "== model: 1 epoch of the default MLP (784,256,128,10), versions 1 and 2 (seeds 1 and 2)"
timeout 1200 dotnet "$TRAIN" --ranks 2 --device cpu --epochs 1 --seed 1 --no-checkpoint --export-model "$WORK/repo/fashion/1" | tail -n 2
timeout 1200 dotnet "$TRAIN" --ranks 2 --device cpu --epochs 1 --seed 2 --no-checkpoint --export-model "$WORK/staging/fashion/2" | tail -n 2
$TOOL bodies "$DATA" "$WORK/bodies"

echo "== in-process limit and JSON parse timing"
tool forward "$WORK/repo/fashion/1/model.ckpt"
tool parse parse-1row-pixels "$WORK/bodies/infer-1.json"
tool parse parse-1row-floats "$WORK/bodies/infer-1-floats.json"
tool parse parse-16rows-pixels "$WORK/bodies/infer-16.json"
tool parse parse-1row-binary "$WORK/bodies/infer-1.bin"
tool parse parse-16rows-binary "$WORK/bodies/infer-16.bin"

INFER=/v2/models/fashion/infer
echo "== Serve with --max-batch 1"
start_server $((PORT + 1)) --max-batch 1
wrk_run wrk-unbatched-1row $((PORT + 1)) $INFER "$WORK/bodies/infer-1.json"
stop_server

echo "== Serve with dynamic batching (defaults)"
start_server "$PORT"
URL=http://127.0.0.1:$PORT
wrk_run wrk-batched-1row "$PORT" $INFER "$WORK/bodies/infer-1.json"
wrk_run wrk-batched-16rows "$PORT" $INFER "$WORK/bodies/infer-16.json"
wrk_run wrk-batched-1row-binary "$PORT" $INFER "$WORK/bodies/infer-1.bin" "$(cat "$WORK/bodies/infer-1.bin.header-length")"
wrk_run wrk-batched-16rows-binary "$PORT" $INFER "$WORK/bodies/infer-16.bin" "$(cat "$WORK/bodies/infer-16.bin.header-length")"
wrk_run wrk-health-live "$PORT" /v2/health/live ""
HALF=$(grep '^name=wrk-batched-1row ' "$FIGURES" | sed 's/.* rps=\([0-9.]*\).*/\1/' | awk '{ printf "%d", $1 / 2 }')
echo "== open loop at $HALF req/s (half the saturating rate), $CONNECTIONS connections, ${SECONDS_PER_RUN} s"
tool load open-half "$URL" $INFER "$WORK/bodies/infer-1.json" $CONNECTIONS "$SECONDS_PER_RUN" "$HALF" 0
echo "== 10% bad requests, closed loop, $CONNECTIONS connections, ${SECONDS_PER_RUN} s"
tool load mix-10pct-bad "$URL" $INFER "$WORK/bodies/infer-1.json" $CONNECTIONS "$SECONDS_PER_RUN" 0 10
echo "== version 2 loaded half-way through a closed loop, $CONNECTIONS connections, ${SECONDS_PER_RUN} s"
tool load hot-load "$URL" $INFER "$WORK/bodies/infer-1.json" $CONNECTIONS "$SECONDS_PER_RUN" 0 0 2 &
LOADER=$!
sleep $((SECONDS_PER_RUN / 2))
cp -r "$WORK/staging/fashion/2" "$WORK/repo/fashion/2"
STARTED=$(date +%s%N)
STATUS=$(curl -s -o "$WORK/load-answer.json" -w '%{http_code}' --max-time 60 -X POST -H "Authorization: Bearer $KEY" "$URL/v2/repository/models/fashion/load")
echo "name=hot-load-switch status=$STATUS ms=$(( ($(date +%s%N) - STARTED) / 1000000 ))" | tee -a "$FIGURES"
wait $LOADER
stop_server

echo "name=machine loadavg_before=$(sed 's/.*=//' "$FIGURES.machine") loadavg_after=$(cut -d' ' -f1 /proc/loadavg)" >> "$FIGURES"
mkdir -p benchmarks/results
cp "$FIGURES" benchmarks/results/serving-figures.txt
$TOOL report "$FIGURES" benchmarks/RESULTS-serving.md "benchmarks/run-serving.sh${SERVING_SECONDS:+ (SERVING_SECONDS=$SERVING_SECONDS)}"
echo "== wrote benchmarks/RESULTS-serving.md (figures: benchmarks/results/serving-figures.txt)"
