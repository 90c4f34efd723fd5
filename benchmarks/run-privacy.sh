#!/usr/bin/env bash
# Reproduces the DP-SGD section of benchmarks/RESULTS-privacy.md: Fashion-MNIST, 8 in-process ranks, CPU backend,
# DP-SGD at epsilon 1, 3 and 8 (delta 1e-5) next to the non-private run with the same batch, lr and epochs.
# Each run gets its own directory, so its privacy-ledger.jsonl holds that run only.
# Usage: benchmarks/run-privacy.sh [timing]   (from the repository root; builds Release first unless SKIP_BUILD=1)
set -euo pipefail
[ "${SKIP_BUILD:-0}" = 1 ] || dotnet build src/Training -c Release -v q > /dev/null
# Run a copy, so that a rebuild during the hour this takes cannot replace the assemblies under the running process.
BIN=${BIN:-/tmp/privacy-bench-bin}
rm -rf "$BIN" && cp -r src/Training/bin/Release/net10.0 "$BIN"
T=$BIN/Train.dll
L=benchmarks/privacy-logs
mkdir -p "$L"
COMMON="--strategy ddp --ranks 8 --device cpu --batch-size 1024 --momentum 0.9"
run() {
  local name=$1; shift
  rm -rf "$L/$name" && mkdir -p "$L/$name"
  echo "== $name: dotnet $T $COMMON $* --checkpoint $L/$name/train.ckpt --log-json $L/$name/log.jsonl"
  dotnet "$T" $COMMON "$@" --checkpoint "$L/$name/train.ckpt" --log-json "$L/$name/log.jsonl" | tee "$L/$name/out.txt"
  rm -f "$L/$name/train.ckpt"
}
if [ "${1:-}" = timing ]; then
  # DP-SGD's cost: non-private and DP runs alternate (same batch, ranks, epochs), so load on a shared machine hits
  # both alike; epoch 1 (JIT warm-up) is left out when comparing.
  # sigma = 0 isolates clipping and Poisson sampling; the secure-RNG run prices --dp-secure-rng against Philox.
  for i in 1 2 3; do
    run time-nonprivate-$i --lr 0.1 --epochs 3
    run time-dp-$i --lr 0.5 --epochs 3 --dp --dp-clip 1 --dp-noise 1.0
    run time-dp-sigma0-$i --lr 0.5 --epochs 3 --dp --dp-clip 1 --dp-noise 0
  done
  run time-dp-secure-rng --lr 0.5 --epochs 3 --dp --dp-clip 1 --dp-noise 1.0 --dp-secure-rng
  # Seconds of epochs 2 and 3 of each run (epoch 1 includes the JIT).
  for f in "$L"/time-*/log.jsonl; do
    echo "$(basename "$(dirname "$f")"): $(python3 -c 'import json,sys; print(" ".join("%.2f" % json.loads(l)["epoch_seconds"] for l in open(sys.argv[1]) if json.loads(l).get("epoch", 0) >= 2))' "$f")"
  done
  exit 0
fi
# lr 0.5 diverges without clipping (the mean gradient is not bounded); 0.1 is the non-private run's own good rate.
run nonprivate --lr 0.1 --epochs 10
# Clipped to C = 1, the DP gradient's norm is at most 1 before noise: it wants a larger step.
run dp-eps1 --lr 0.5 --epochs 10 --dp --dp-clip 1 --dp-epsilon 1 --dp-delta 1e-5
run dp-eps3 --lr 0.5 --epochs 10 --dp --dp-clip 1 --dp-epsilon 3 --dp-delta 1e-5
run dp-eps8 --lr 0.5 --epochs 10 --dp --dp-clip 1 --dp-epsilon 8 --dp-delta 1e-5
