#!/usr/bin/env bash
# Reproduces the "Reproducible AllReduce" figures of benchmarks/RESULTS-training.md (issue 17's goal: the reproducible
# float sum at >= 0.5x the ring's busbw, 1 to 64 MiB): AllReducePerf's ring and ring+repro rows in one run, for 2 and
# 4 in-process ranks, then one line per size with the ratio of the two busbw figures. Prints the load average first:
# figures taken while other work loads the machine are noisy.
# Usage: benchmarks/run-reproducible-allreduce.sh [ITERATIONS]   (from the repository root; builds Release first)
set -euo pipefail
ITERATIONS=${1:-10}
dotnet build benchmarks/AllReducePerf -c Release -v q -nologo > /dev/null
PERF=benchmarks/AllReducePerf/bin/Release/net10.0/AllReducePerf.dll
for RANKS in 2 4; do
  echo "== $RANKS ranks, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  dotnet "$PERF" --ranks "$RANKS" -b 1M -e 64M -f 4 -a ring --reproducible --no-memcpy -n "$ITERATIONS" |
    awk '/^#/ { next } $4 == "ring" { ring[$1] = $7; print; next }
         $4 == "ring+repro" { print; printf "   %8.0f MiB: reproducible / ring busbw = %.2fx\n", $1 / 1048576, $7 / ring[$1] }'
done
