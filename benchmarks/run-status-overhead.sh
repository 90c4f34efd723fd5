#!/usr/bin/env bash
# Reproduces "status page and monitor overhead" in benchmarks/RESULTS-lifecycle.md: 1-row throughput of Serve.dll at
# --max-batch 1 under saturation (wrk, 2 threads, 16 connections, 1-row JSON infer requests) with the drift monitor
# off (the version has no reference.json: requests recorded, no window tested), on without a cap (every window due is
# tested, back to back: --drift-min-interval-ms 0 --drift-cpu-share 1, the behaviour before the cap), on with the
# default cap (--drift-min-interval-ms 1000 --drift-cpu-share 0.1), and capped with GET /status fetched every second.
# The four run interleaved, STATUS_ROUNDS times (2), STATUS_SECONDS each (10); every figure is a ratio to "off" of the
# same round; the server's CPU time per request (from /proc) is reported beside the throughput, since on a loaded
# machine it is the steadier figure.
# Usage: benchmarks/run-status-overhead.sh [MODEL_DIR]   (from the repository root; builds Release first)
#   MODEL_DIR: a version directory from Train.dll --export-model (model.ckpt, preprocess.json, reference.json). Without
#   it, one is trained: 784,256,128,10 (the default), 1 epoch, 1 rank, seed 1.
# Needs: wrk and curl (apt-get install wrk curl), the Fashion-MNIST data (scripts/setup.sh). Port 18495 (STATUS_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${STATUS_SECONDS:-10}
ROUNDS=${STATUS_ROUNDS:-2}
PORT=${STATUS_PORT:-18495}
DATA=${STATUS_DATA:-/usr/share/datasets/fashion-mnist}
command -v wrk >/dev/null || { echo "run-status-overhead: wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "run-status-overhead: curl is missing: apt-get install -y curl" >&2; exit 1; }
echo "== build"
dotnet build src/Serving -c Release -v q -nologo 2>&1 | tail -n 2
SERVE=src/Serving/bin/Release/net10.0/Serve.dll
WORK=$(mktemp -d /tmp/run-status-overhead.XXXXXX)
SERVER_PID=""
POLL_PID=""
stop_server() {
  [ -z "$POLL_PID" ] || { kill "$POLL_PID" 2>/dev/null || true; wait "$POLL_PID" 2>/dev/null || true; POLL_PID=""; }
  [ -z "$SERVER_PID" ] || { kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
}
trap 'stop_server; rm -rf "$WORK"' EXIT
MODEL=${1:-}
if [ -z "$MODEL" ]; then
  [ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || { echo "run-status-overhead: no Fashion-MNIST in $DATA: run scripts/setup.sh" >&2; exit 1; }
  MODEL=$WORK/trained/fashion/1
  echo "== train v1 (1 epoch)"
  dotnet src/Training/bin/Release/net10.0/Train.dll --data "$DATA" --ranks 1 --epochs 1 --seed 1 --device cpu \
    --no-checkpoint --quiet --export-model "$MODEL"
fi
[ -f "$MODEL/reference.json" ] || { echo "run-status-overhead: $MODEL has no reference.json (export it with Train.dll --export-model)" >&2; exit 1; }
mkdir -p "$WORK/with/fashion/1" "$WORK/without/fashion/1"
cp "$MODEL"/model.ckpt "$MODEL"/preprocess.json "$MODEL"/reference.json "$WORK/with/fashion/1/"
cp "$MODEL"/model.ckpt "$MODEL"/preprocess.json "$WORK/without/fashion/1/"
# One image of bytes i mod 256, as a 1-row infer request.
seq -s, 0 783 | awk -F, '{printf "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":["; for (i = 1; i <= NF; i++) printf "%s%d", (i > 1 ? "," : ""), $i % 256; printf "]}]}"}' > "$WORK/infer-1.json"

CLOCK_TICKS=$(getconf CLK_TCK)
# CPU time of the server (user + system, in clock ticks, from /proc): CPU per request hardly depends on what else the
# machine runs, while requests per second do; both are reported.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }

run() {  # run NAME REPOSITORY POLL(0|1) SERVE-ARGS...
  local name=$1 repo=$2 poll=$3; shift 3
  dotnet "$SERVE" --models "$WORK/$repo" --urls "http://127.0.0.1:$PORT" --max-batch 1 --log-format text "$@" > "$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null || { echo "run-status-overhead: Serve did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  if [ "$poll" = 1 ]; then
    ( while true; do curl -s -o /dev/null "http://127.0.0.1:$PORT/status"; sleep 1; done ) &
    POLL_PID=$!
  fi
  local line windows cpu_before cpu_after
  cpu_before=$(cpu_ticks)
  line=$(WRK_BODY=$WORK/infer-1.json timeout $((SECONDS_PER_RUN + 60)) wrk -t2 -c16 -d"${SECONDS_PER_RUN}"s --latency --timeout 5s \
    -s benchmarks/serving-wrk.lua "http://127.0.0.1:$PORT/v2/models/fashion/infer" | grep '^rps=')
  cpu_after=$(cpu_ticks)
  windows=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^allreducenet_drift_windows_total/ {s += $2} END {print s + 0}')
  echo "round=$ROUND name=$name $line windows=$windows cpu_s=$(( (cpu_after - cpu_before) / CLOCK_TICKS )).$(( (cpu_after - cpu_before) % CLOCK_TICKS * 100 / CLOCK_TICKS )) loadavg=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$WORK/figures.txt"
  stop_server
}

echo "== $ROUNDS rounds of 4 runs, wrk -t2 -c16 -d${SECONDS_PER_RUN}s --latency -s benchmarks/serving-wrk.lua, Serve --max-batch 1"
for ROUND in $(seq "$ROUNDS"); do
  run off without 0
  run uncapped with 0 --drift-min-interval-ms 0 --drift-cpu-share 1
  run capped with 0
  run capped+status with 1
done

echo "== throughput relative to drift off, per round (then the mean over the rounds)"
awk '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    rps[f["round"], f["name"]] = f["rps"]; p99[f["round"], f["name"]] = f["p99_ms"]; w[f["round"], f["name"]] = f["windows"]
    cpu[f["round"], f["name"]] = 1000 * f["cpu_s"] / f["requests"]
    if (!(f["name"] in seen)) { seen[f["name"]] = 1; order[++n] = f["name"] } if (f["round"] > rounds) rounds = f["round"] }
  END {
    printf "%-15s %10s %8s %10s %8s %10s %8s\n", "run", "req/s", "ratio", "CPU ms/req", "ratio", "p99 ms", "windows"
    for (k = 1; k <= n; k++) { name = order[k]; sum = 0; csum = 0
      for (r = 1; r <= rounds; r++) { ratio = rps[r, name] / rps[r, "off"]; sum += ratio; cratio = cpu[r, name] / cpu[r, "off"]; csum += cratio
        printf "%-15s %10.1f %8.3f %10.3f %8.3f %10.1f %8d   (round %d)\n", name, rps[r, name], ratio, cpu[r, name], cratio, p99[r, name], w[r, name], r }
      printf "%-15s %10s %8.3f %10s %8.3f   (mean ratios over %d rounds)\n", name, "", sum / rounds, "", csum / rounds, rounds } }' "$WORK/figures.txt"
