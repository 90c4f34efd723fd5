#!/usr/bin/env bash
# Issue 17's "2 ranks on 2 cores >= 1.6x of 1 rank", A/B against a base commit in one run: Train.dll ddp (the
# README's recipe, as run-peers.sh runs it) with 1 and 2 in-process ranks, this tree's build and the base's build
# interleaved (base 1, new 1, base 2, new 2, then again), so both see the same load. Prints every run's samples/s
# over the timed epochs (after the warm-up) and its phases, then the medians, new / base per rank count, and
# 2 ranks / 1 rank per build. Nothing is written into the results files.
#
# Usage (from anywhere): benchmarks/peers/run-scaling.sh [--base REF] [--repeats 3] [--epochs 3] [--ranks "1 2"]
#   [--prefix "chrt -f 10"]   (a command each run is started under: real-time priority on a shared machine)
# The base is built from `git archive REF` (default main) in /tmp/arn-scaling-base-<commit>; logs go to
# /tmp/arn-scaling-logs/.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=main; REPEATS=3; EPOCHS=3; RANKS="1 2"; PREFIX=""
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --ranks) RANKS="$2"; shift 2 ;;
    --prefix) PREFIX="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run-scaling.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$EPOCHS" -ge 2 ] || { echo "run-scaling.sh: --epochs must be at least 2 (the first is the warm-up)" >&2; exit 2; }
source benchmarks/peers/common.sh
require_fashion_mnist run-scaling.sh

build_base run-scaling.sh "$BASE"
echo "== building this tree"
dotnet build src/Training -c Release -v q -nologo 2>&1 | tail -n 2

LOGS=/tmp/arn-scaling-logs
rm -rf "$LOGS"; mkdir -p "$LOGS"
echo "== started $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for repeat in $(seq 1 "$REPEATS"); do
  for ranks in $RANKS; do
    for arm in base new; do
      dll=src/Training/bin/Release/net10.0/Train.dll
      [ "$arm" = base ] && dll=$BASEDIR/$dll
      log=$LOGS/$arm-$ranks-$repeat.jsonl
      $PREFIX timeout 600 dotnet "$dll" --strategy ddp --ranks "$ranks" --epochs "$EPOCHS" --data "$DATA" \
        --no-checkpoint --log-json "$log" > "$LOGS/$arm-$ranks-$repeat.txt"
      echo "$arm $ranks $repeat load $(cut -d' ' -f1 /proc/loadavg) $log"
    done
  done
done
echo "== finished $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$LOGS" "$REPEATS" "$RANKS" <<'EOF'
import json, statistics, sys
logs, repeats, ranks = sys.argv[1], int(sys.argv[2]), [int(r) for r in sys.argv[3].split()]
PHASES = ["data_loading", "forward", "backward", "allreduce_wait", "optimizer", "other"]
def figures(path):
    timed = [json.loads(l) for l in open(path) if l.strip()][1:]
    sps = sum(r["samples_per_second"] * r["epoch_seconds"] for r in timed) / sum(r["epoch_seconds"] for r in timed)
    phases = [statistics.mean(r["phase_seconds"].get(p, 0.0) for r in timed) for p in PHASES]
    return sps, phases, timed[-1]["test_accuracy"]
median = {}
print("| build | ranks | run | samples/s | phases per epoch, s (data / fwd / bwd / wait / opt / other) | test acc |")
print("|---|---|---|---|---|---|")
for n in ranks:
    for arm in ("base", "new"):
        runs = [figures(f"{logs}/{arm}-{n}-{r}.jsonl") for r in range(1, repeats + 1)]
        for r, (sps, ph, acc) in enumerate(runs, 1):
            print(f"| {arm} | {n} | {r} | {sps:,.0f} | {' / '.join(f'{x:.3f}' for x in ph)} | {acc:.2%} |")
        median[arm, n] = statistics.median(s for s, _, _ in runs)
print()
for n in ranks:
    print(f"- {n} rank(s): base median {median['base', n]:,.0f}, new median {median['new', n]:,.0f} samples/s: new / base **{median['new', n] / median['base', n]:.2f}x**")
if 1 in ranks and 2 in ranks:
    for arm in ("base", "new"):
        print(f"- {arm}: 2 ranks / 1 rank **{median[arm, 2] / median[arm, 1]:.2f}x** (goal >= 1.6x)")
EOF
