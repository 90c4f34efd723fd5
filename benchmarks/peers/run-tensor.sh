#!/usr/bin/env bash
# Issue 17's "2 ranks on 2 cores >= 1.6x of 1 rank" for --strategy tensor, A/B against a base commit in one run. Each
# repeat runs, back to back so that all see the same load: Train.dll ddp with 1 rank (the 1-rank baseline, this
# tree's build), --strategy tensor with 2 in-process ranks from the base's build and from this tree's, and the
# no-communication bound: two independent 1-rank ddp processes with batch 64 and one kernel thread each, at the same
# time (their samples/s added). Same recipe as run-peers.sh (MLP 784-256-128-10, Fashion-MNIST, global batch 128,
# SGD 0.05 momentum 0.9 cosine), samples/s over the epochs after the first. Prints every run, each repeat's ratios
# to the 1-rank run, and their medians. Nothing is written into the results files.
#
# Usage (from anywhere): benchmarks/peers/run-tensor.sh [--base REF] [--repeats 5] [--epochs 3]
#   [--prefix "chrt -f 10"]   (a command each run is started under: real-time priority on a shared machine)
# The base is built from `git archive REF` (default main) in /tmp/arn-scaling-base-<commit> (shared with
# run-scaling.sh); logs go to /tmp/arn-tensor-logs/.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=main; REPEATS=5; EPOCHS=3; PREFIX=""
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --prefix) PREFIX="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run-tensor.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$EPOCHS" -ge 2 ] || { echo "run-tensor.sh: --epochs must be at least 2 (the first is the warm-up)" >&2; exit 2; }
[ "$REPEATS" -ge 1 ] || { echo "run-tensor.sh: --repeats must be at least 1" >&2; exit 2; }
source benchmarks/peers/common.sh
require_fashion_mnist run-tensor.sh

build_base run-tensor.sh "$BASE"
echo "== building this tree"
dotnet build src/Training -c Release -v q -nologo 2>&1 | tail -n 2
NEW=src/Training/bin/Release/net10.0/Train.dll
OLD=$BASEDIR/$NEW

LOGS=/tmp/arn-tensor-logs
rm -rf "$LOGS"; mkdir -p "$LOGS"
COMMON=(--epochs "$EPOCHS" --data "$DATA" --no-checkpoint)
train() {   # train LOGNAME DLL ARGS...: one run, its --log-json in $LOGS/LOGNAME.jsonl (a fresh file: the log appends)
  local name=$1 dll=$2; shift 2
  $PREFIX timeout 600 dotnet "$dll" "$@" "${COMMON[@]}" --log-json "$LOGS/$name.jsonl" > "$LOGS/$name.txt"
}
echo "== started $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for repeat in $(seq 1 "$REPEATS"); do
  train "ddp1-$repeat" "$NEW" --strategy ddp --ranks 1
  train "base-$repeat" "$OLD" --strategy tensor --ranks 2
  train "new-$repeat" "$NEW" --strategy tensor --ranks 2
  # The bound: no communication at all, each process one core's worth of kernel threads and half the batch.
  DOTNET_PROCESSOR_COUNT=1 train "bound-a-$repeat" "$NEW" --strategy ddp --ranks 1 --batch-size 64 &
  DOTNET_PROCESSOR_COUNT=1 train "bound-b-$repeat" "$NEW" --strategy ddp --ranks 1 --batch-size 64
  wait
  echo "repeat $repeat done, load $(cut -d' ' -f1 /proc/loadavg)"
done
echo "== finished $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$LOGS" "$REPEATS" <<'EOF'
import json, statistics, sys
logs, repeats = sys.argv[1], int(sys.argv[2])
PHASES = ["data_loading", "forward", "backward", "allreduce_wait", "optimizer"]
def figures(name):
    timed = [json.loads(l) for l in open(f"{logs}/{name}.jsonl") if l.strip()][1:]
    seconds = sum(r["epoch_seconds"] for r in timed)
    sps = sum(r["samples_per_second"] * r["epoch_seconds"] for r in timed) / seconds
    phases = " / ".join(f"{statistics.mean(r['phase_seconds'].get(p, 0.0) for r in timed):.3f}" for p in PHASES)
    return sps, phases, timed[-1]["test_accuracy"]
print("| repeat | ddp 1 rank | tensor 2 base | tensor 2 new | bound (2 x batch 64) | base / ddp1 | new / ddp1 | bound / ddp1 | new phases, s (data / fwd / bwd / wait / opt) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
ratios = {"base": [], "new": [], "bound": []}
for r in range(1, repeats + 1):
    one = figures(f"ddp1-{r}")[0]
    base = figures(f"base-{r}")[0]
    new, phases, _ = figures(f"new-{r}")
    bound = figures(f"bound-a-{r}")[0] + figures(f"bound-b-{r}")[0]
    for key, value in (("base", base), ("new", new), ("bound", bound)): ratios[key].append(value / one)
    print(f"| {r} | {one:,.0f} | {base:,.0f} | {new:,.0f} | {bound:,.0f} | {base / one:.2f}x | {new / one:.2f}x | {bound / one:.2f}x | {phases} |")
print()
for key, label in (("base", "tensor 2 ranks, base build"), ("new", "tensor 2 ranks, this tree"), ("bound", "two independent batch-64 processes")):
    print(f"- {label} / ddp 1 rank: median **{statistics.median(ratios[key]):.2f}x** (every repeat: {', '.join(f'{x:.2f}' for x in ratios[key])})")
wins = sum(n > b for n, b in zip(ratios["new"], ratios["base"]))
print(f"- this tree ahead of the base in {wins} of {repeats} repeats; this tree >= 1.6x in {sum(x >= 1.6 for x in ratios['new'])} of {repeats}")
EOF
