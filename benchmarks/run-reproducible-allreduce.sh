#!/usr/bin/env bash
# Reproduces the "Reproducible AllReduce" figures of benchmarks/RESULTS-training.md (issue 17's goal: the reproducible
# float sum at >= 0.5x the ring's busbw, 1 to 64 MiB): AllReducePerf's ring and ring+repro rows in one run, for 2, 4
# and 8 in-process ranks, then one line per size with the ratio of the two busbw figures. Prints the load average
# first: figures taken while other work loads the machine are noisy.
# Usage: benchmarks/run-reproducible-allreduce.sh [ITERATIONS] [RANKS...]   (from the repository root; builds Release
# first; default 10 iterations, ranks 2 4 8). BASELINE=path/to/another/AllReducePerf.dll runs that build too, right
# before this one for each rank count (an A/B under the same load; its lines are marked "baseline").
set -euo pipefail
ITERATIONS=${1:-10}
shift || true
RANK_COUNTS=("${@:-2 4 8}")
dotnet build benchmarks/AllReducePerf -c Release -v q -nologo > /dev/null
PERF=benchmarks/AllReducePerf/bin/Release/net10.0/AllReducePerf.dll
sweep() { # $1 = label, $2 = AllReducePerf.dll, $3 = ranks
  echo "== $1: $3 ranks, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  dotnet "$2" --ranks "$3" -b 1M -e 64M -f 4 -a ring --reproducible --no-memcpy -n "$ITERATIONS" |
    awk -v label="$1" '/^#/ { next } $4 == "ring" { ring[$1] = $7; print; next }
         $4 == "ring+repro" { print; printf "   %8.0f MiB: reproducible / ring busbw = %.2fx (%s)\n", $1 / 1048576, $7 / ring[$1], label }'
}
for RANKS in ${RANK_COUNTS[*]}; do
  if [[ -n "${BASELINE:-}" ]]; then sweep baseline "$BASELINE" "$RANKS"; fi
  sweep this "$PERF" "$RANKS"
done
