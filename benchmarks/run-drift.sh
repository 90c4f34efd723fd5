#!/usr/bin/env bash
# Reproduces the "drift" section of benchmarks/RESULTS-lifecycle.md: false drift alarms on unshifted streams and the
# detection delay of each test for each kind of shift, from Serve.dll's own detectors (DriftDetector) run in-process.
# Usage: benchmarks/run-drift.sh [MODEL_DIR]   (from the repository root; builds Release first)
#   MODEL_DIR: a version directory from Train.dll --export-model (model.ckpt, preprocess.json, reference.json). Without
#   it, v1 is trained first: 784,256,128,10, 3 epochs, 1 rank, seed 1 (about 5 minutes on a quiet 2-core machine).
#   DRIFT_ARGS passes more options to DriftBench (e.g. "--streams 20" for a quick check).
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
echo "== detectors"
# shellcheck disable=SC2086
dotnet benchmarks/DriftBench/bin/Release/net10.0/DriftBench.dll --model "$MODEL" --data "$DATA" ${DRIFT_ARGS:-}
