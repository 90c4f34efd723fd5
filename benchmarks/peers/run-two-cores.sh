#!/usr/bin/env bash
# Issue 17's "2 ranks on 2 cores >= 1.6x of 1 rank", against both 1-rank baselines, in one run. Each repeat runs back
# to back, so that all see the same load:
#   ddp 1 rank            the default: its kernels use every core of the machine (KernelThreads: cores / ranks),
#   ddp 1 rank, 1 core    the same, confined to one core (taskset -c 1): the baseline for scaling from 1 core to 2,
#   tensor 2 ranks        --strategy tensor (docs/tensor-parallel.md): step-synchronous, same model as 1 rank,
#   local SGD 2 ranks     --strategy gossip --topology complete --gossip-every H (docs/gossip.md): each rank takes H
#                         local steps on its half of each global batch, then the two replicas are averaged.
# Same recipe as run-peers.sh (MLP 784-256-128-10, Fashion-MNIST, global batch 128, SGD 0.05 momentum 0.9 cosine),
# samples/s over the epochs after the first. Prints a markdown table of every repeat with the ratios to both
# baselines, their medians, and the test accuracies. Nothing is written into the results files.
#
# Usage (from anywhere): benchmarks/peers/run-two-cores.sh [--repeats 8] [--epochs 3] [--every 16] [--out DIR]
#   [--prefix "chrt -f 10"]   (a command each run is started under: real-time priority on a shared machine)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS=8; EPOCHS=3; EVERY=16; OUT=/tmp/arn-two-cores; PREFIX=""
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) REPEATS="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --every) EVERY="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --prefix) PREFIX="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run-two-cores.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$EPOCHS" -ge 2 ] || { echo "run-two-cores.sh: --epochs must be at least 2 (the first is the warm-up)" >&2; exit 2; }
[ "$REPEATS" -ge 1 ] || { echo "run-two-cores.sh: --repeats must be at least 1" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "run-two-cores.sh: needs at least 2 cores, this machine has $(nproc)" >&2; exit 2; }
source benchmarks/peers/common.sh
require_fashion_mnist run-two-cores.sh

dotnet build src/Training -c Release -v q -nologo 2>&1 | tail -n 2
T=src/Training/bin/Release/net10.0/Train.dll
rm -rf "$OUT"; mkdir -p "$OUT"
STARTED="$(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME [launcher words --] TRAIN-ARGS...: one Train.dll run; its --log-json file is new (the option appends).
run() {
  local name=$1; shift
  local launcher=()
  if [ "$1" = "taskset" ]; then launcher=(taskset -c 1); shift; fi
  rm -f "$OUT/$name.jsonl"
  # shellcheck disable=SC2086
  "${launcher[@]}" $PREFIX dotnet "$T" "$@" --epochs "$EPOCHS" --data "$DATA" --no-checkpoint \
    --log-json "$OUT/$name.jsonl" > "$OUT/$name.txt" 2>&1 || { echo "run-two-cores.sh: $name failed:"; tail -n 5 "$OUT/$name.txt"; exit 1; }
}
for i in $(seq 1 "$REPEATS"); do
  echo "== repeat $i of $REPEATS ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
  run "ddp1-$i" --strategy ddp --ranks 1
  run "ddp1core-$i" taskset --strategy ddp --ranks 1
  run "tensor2-$i" --strategy tensor --ranks 2
  run "localsgd2-$i" --strategy gossip --topology complete --gossip-every "$EVERY" --ranks 2
done
FINISHED="$(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$OUT" "$REPEATS" "$EVERY" "$STARTED" "$FINISHED" "${PREFIX:-none}" <<'PY'
import json, statistics, sys
out, repeats, every, started, finished, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], *sys.argv[4:]
def figures(name):
    records = [json.loads(line) for line in open(f"{out}/{name}.jsonl") if line.strip()]
    timed = records[1:]
    samples = sum(r["samples_per_second"] * r["epoch_seconds"] for r in timed)
    return samples / sum(r["epoch_seconds"] for r in timed), records[-1]["test_accuracy"]
two = {"tensor2": "tensor 2 ranks", "localsgd2": f"local SGD 2 ranks (every {every})"}
ratios = {(k, b): [] for k in two for b in ("ddp1", "ddp1core")}
print(f"started {started}; finished {finished}; each run under: {prefix}\n")
print("| repeat | ddp 1 rank (all cores) | ddp 1 rank, 1 core | " + " | ".join(f"{v}: samples/s, x 1 rank, x 1 rank on 1 core" for v in two.values()) + " |")
print("|---|---:|---:|" + "---:|" * len(two))
accuracy = {}
for i in range(1, repeats + 1):
    base, accuracy["ddp 1 rank"] = figures(f"ddp1-{i}")
    core, accuracy["ddp 1 rank, 1 core"] = figures(f"ddp1core-{i}")
    cells = []
    for key, label in two.items():
        sps, accuracy[label] = figures(f"{key}-{i}")
        ratios[key, "ddp1"].append(sps / base)
        ratios[key, "ddp1core"].append(sps / core)
        cells.append(f"{sps:,.0f}, {sps / base:.2f}x, {sps / core:.2f}x")
    print(f"| {i} | {base:,.0f} | {core:,.0f} | " + " | ".join(cells) + " |")
print("| median | | | " + " | ".join(f"**{statistics.median(ratios[k, 'ddp1']):.2f}x, {statistics.median(ratios[k, 'ddp1core']):.2f}x**" for k in two) + " |")
print("\ntest accuracy after the last epoch (last repeat): " + ", ".join(f"{k} {100 * v:.2f}%" for k, v in accuracy.items()))
PY
