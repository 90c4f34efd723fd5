#!/usr/bin/env bash
# Starts the model's life after deployment (docs/lifecycle.md): Serve.dll (serving, drift monitoring, A/B rollout),
# the trainer (Lifecycle.dll trainer: retrains on a schedule or when asked) and the monitor (Lifecycle.dll monitor:
# polls the server's drift and asks the trainer to retrain). All three bind 127.0.0.1; Ctrl-C stops them all, and so
# does any one of them exiting.
# Usage: scripts/lifecycle/start.sh [MODELS_DIR]     (default: ./models, holding NAME/1 from Train.dll --export-model)
# Environment (all optional):
#   MODEL (fashion)  SERVE_PORT (8000)  TRAINER_PORT (8100)  MONITOR_PORT (8200)
#   API_KEY          the management key of the server and the trainer (default: a fresh random one, printed)
#   TRAIN_ARGS       Train.dll's options for retraining (default "--epochs 3")
#   RETRAIN_EVERY    retrain on a schedule too, e.g. 24h (default: only when the monitor sees drift or on POST /retrain)
#   WORK             the trainer's job directory (default: MODELS_DIR/../lifecycle-work)
#   SERVE_ARGS, TRAINER_ARGS, MONITOR_ARGS   more options for each (e.g. MONITOR_ARGS="--consecutive-windows 5")
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
models=$(realpath -m "${1:-models}")
model=${MODEL:-fashion}
serve_port=${SERVE_PORT:-8000} trainer_port=${TRAINER_PORT:-8100} monitor_port=${MONITOR_PORT:-8200}
serve_dll=$root/src/Serving/bin/Release/net10.0/Serve.dll
lifecycle_dll=$root/src/Lifecycle/bin/Release/net10.0/Lifecycle.dll
[ -d "$models/$model" ] || { echo "start.sh: no model '$model' in $models; train one first, e.g. dotnet Train.dll --export-model $models/$model/1" >&2; exit 2; }
if [ ! -f "$serve_dll" ] || [ ! -f "$lifecycle_dll" ]; then
  echo "== build"
  dotnet build "$root/src/Serving" -c Release -v q -nologo | tail -n 2
  dotnet build "$root/src/Lifecycle" -c Release -v q -nologo | tail -n 2
fi
key=${API_KEY:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
# Through the environment, so that the key stays out of the process list.
export ALLREDUCENET_SERVING_API_KEY=$key ALLREDUCENET_LIFECYCLE_API_KEY=$key

pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT INT TERM

await() { # URL NAME: waits up to 60 s for a 2xx
  for _ in $(seq 600); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done
  echo "start.sh: $2 did not answer $1 within 60 s" >&2; exit 1
}

# shellcheck disable=SC2086
dotnet "$serve_dll" --models "$models" --urls "http://127.0.0.1:$serve_port" --version-policy all ${SERVE_ARGS:-} &
pids+=($!)
await "http://127.0.0.1:$serve_port/v2/health/ready" server
# shellcheck disable=SC2086
dotnet "$lifecycle_dll" trainer --urls "http://127.0.0.1:$trainer_port" --server "http://127.0.0.1:$serve_port" --models "$models" --model "$model" \
  --train-args "${TRAIN_ARGS:---epochs 3}" --work "${WORK:-$(dirname "$models")/lifecycle-work}" ${RETRAIN_EVERY:+--retrain-every "$RETRAIN_EVERY"} ${TRAINER_ARGS:-} &
pids+=($!)
await "http://127.0.0.1:$trainer_port/health/ready" trainer
# shellcheck disable=SC2086
dotnet "$lifecycle_dll" monitor --urls "http://127.0.0.1:$monitor_port" --server "http://127.0.0.1:$serve_port" \
  --trainer "http://127.0.0.1:$trainer_port" --model "$model" ${MONITOR_ARGS:-} &
pids+=($!)
await "http://127.0.0.1:$monitor_port/health/live" monitor

cat <<INFO
== running (Ctrl-C stops all three)
server   http://127.0.0.1:$serve_port   (GET /drift, POST /v2/models/$model/infer, POST /v2/models/$model/feedback)
trainer  http://127.0.0.1:$trainer_port   (GET /jobs; POST /retrain with X-Api-Key)
monitor  http://127.0.0.1:$monitor_port   (GET /state)
API key  $( [ -n "${API_KEY:-}" ] && echo "(from API_KEY)" || echo "$key")
INFO
wait -n "${pids[@]}" || true
echo "start.sh: a service exited; stopping the others" >&2
