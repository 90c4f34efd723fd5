#!/usr/bin/env bash
# The timeline's cost: AllReducePerf in-process (2 ranks, ring) with ALLREDUCENET_TIMELINE unset ("off") and set
# ("on"), and, when BASE_PERF names an AllReducePerf.dll built from a commit before the timeline existed ("base"),
# that too; runs alternated (base, off, on, base, off, on, ...) so all see the same machine. Prints the median time
# per size and the ratios.
# Usage: [BASE_PERF=/path/AllReducePerf.dll] benchmarks/run-timeline-overhead.sh [pairs] [output-dir]
#        (default 3 rounds, benchmarks/results/timeline)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=${2:-benchmarks/results/timeline}
mkdir -p "$out"
dotnet build benchmarks/AllReducePerf -c Release -v q -nologo >/dev/null
args="--ranks 2 -b 8 -e 16M -f 32 --algorithms ring --no-memcpy"
perf="dotnet benchmarks/AllReducePerf/bin/Release/net10.0/AllReducePerf.dll"
for i in $(seq "$rounds"); do
  [ -n "${BASE_PERF:-}" ] && env -u ALLREDUCENET_TIMELINE dotnet "$BASE_PERF" $args --csv "$out/base-$i.csv" >/dev/null
  env -u ALLREDUCENET_TIMELINE $perf $args --csv "$out/off-$i.csv" >/dev/null
  ALLREDUCENET_TIMELINE="$out/trace-$i.json" $perf $args --csv "$out/on-$i.csv" >/dev/null
done
python3 - "$out" "$rounds" "${BASE_PERF:+base}" <<'PY'
import csv, statistics, sys
out, rounds, base = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "base"
def times(kind):
    by = {}
    for i in range(1, rounds + 1):
        for row in csv.DictReader(open(f"{out}/{kind}-{i}.csv")):
            by.setdefault(int(row["bytes"]), []).append(float(row["time_us"]))
    return {b: statistics.median(v) for b, v in by.items()}
off, on = times("off"), times("on")
old = times("base") if base else None
print(f"{'bytes':>10} " + (f"{'base us':>10} " if base else "") + f"{'off us':>10} {'on us':>10} " + (f"{'off/base':>8} " if base else "") + f"{'on/off':>7}   (median of {rounds} runs each, alternated)")
for b in sorted(off):
    print(f"{b:>10} " + (f"{old[b]:>10.2f} " if base else "") + f"{off[b]:>10.2f} {on[b]:>10.2f} " + (f"{off[b]/old[b]:>8.3f} " if base else "") + f"{on[b]/off[b]:>7.3f}")
PY
