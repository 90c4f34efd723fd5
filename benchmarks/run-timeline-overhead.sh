#!/usr/bin/env bash
# The timeline's cost: AllReducePerf in-process (2 ranks, ring) with ALLREDUCENET_TIMELINE unset and set, runs
# alternated (off, on, off, on, ...) so both see the same machine; prints the median time per size and on/off.
# Usage: benchmarks/run-timeline-overhead.sh [pairs] [output-dir]     (default 3 pairs, benchmarks/results/timeline)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-3}
out=${2:-benchmarks/results/timeline}
mkdir -p "$out"
dotnet build benchmarks/AllReducePerf -c Release -v q -nologo >/dev/null
perf="dotnet benchmarks/AllReducePerf/bin/Release/net10.0/AllReducePerf.dll --ranks 2 -b 8 -e 16M -f 16 --algorithms ring --no-memcpy"
for i in $(seq "$pairs"); do
  env -u ALLREDUCENET_TIMELINE $perf --csv "$out/off-$i.csv" >/dev/null
  ALLREDUCENET_TIMELINE="$out/trace-$i.json" $perf --csv "$out/on-$i.csv" >/dev/null
done
python3 - "$out" "$pairs" <<'PY'
import csv, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
def times(kind):
    by = {}
    for i in range(1, pairs + 1):
        for row in csv.DictReader(open(f"{out}/{kind}-{i}.csv")):
            by.setdefault(int(row["bytes"]), []).append(float(row["time_us"]))
    return {b: statistics.median(v) for b, v in by.items()}
off, on = times("off"), times("on")
print(f"{'bytes':>10} {'off us':>10} {'on us':>10} {'on/off':>7}   (median of {pairs} runs each, alternated)")
for b in sorted(off):
    print(f"{b:>10} {off[b]:>10.2f} {on[b]:>10.2f} {on[b]/off[b]:>7.3f}")
PY
