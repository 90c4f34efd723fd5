#!/usr/bin/env bash
# Reproduces "maskspeed 2" (and 3 to 5: RT=1, OUT=...) of benchmarks/RESULTS-federated.md: the masked ring AllReduce (ChaCha8 and Philox masks,
# fused into the ring; ChaCha8 unfused) against the plain float ring in the same run, on 2, 4 and 8 in-process ranks
# and on 2 MPICH processes, then the mask generators alone (words per second) and the bound they put on the ratio.
# Each command prints two tables: the best-of-rounds one (blocks of calls per variant, best round) and, from
# --interleave ("maskspeed 6"), plain and masked rings taking turns call by call after a barrier with each variant's
# median call and the ratio of medians: the figure that holds when other work loads the machine (CALLS=, default 21).
# Usage: benchmarks/run-maskspeed.sh   (from the repository root; builds Release first unless SKIP_BUILD=1)
# Raw outputs, each headed by the time, load and commit: benchmarks/results/masked/maskspeed2-*.txt (OUT= to change).
# RT=1 runs each in-process command under `chrt -f 10` (SCHED_FIFO, root only): on a machine loaded by other work the ranks then
# keep their cores (the kernel's RT throttling still leaves others 5 %); the plain ring then runs at its quiet speed.
set -euo pipefail
PRIO=()
[ "${RT:-0}" = 1 ] && PRIO=(chrt -f 10)
[ "${SKIP_BUILD:-0}" = 1 ] || dotnet build benchmarks/MaskedAllReducePerf -c Release -v q -nologo > /dev/null
B=benchmarks/MaskedAllReducePerf/bin/Release/net10.0/MaskedAllReducePerf.dll
INTERLEAVE=(--interleave --calls "${CALLS:-21}")
OUT=${OUT:-benchmarks/results/masked}
mkdir -p "$OUT"
run() {
  local name=$1; shift
  {
    echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD), $(nproc) cores"
    echo "# command: ${PRIO[*]} $*"
    "${PRIO[@]}" "$@"
  } 2>&1 | tee "$OUT/maskspeed2-$name.txt"
}
run 2ranks dotnet "$B" --ranks 2 --sizes 1,16,64 --iters 5 --rounds 3 --neighbours 0 "${INTERLEAVE[@]}"
run 4ranks dotnet "$B" --ranks 4 --sizes 1,16,64 --iters 5 --rounds 3 --neighbours 1 "${INTERLEAVE[@]}"
run 8ranks dotnet "$B" --ranks 8 --sizes 1,16,64 --iters 5 --rounds 3 --neighbours 1 "${INTERLEAVE[@]}"
if command -v mpiexec.mpich > /dev/null; then
  PRIO=()   # never MPI jobs under real-time priority: spinning ranks starved the machine for half an hour once
  run mpich-2 mpiexec.mpich -n 2 dotnet "$B" --sizes 1,16,64 --iters 5 --rounds 3 --neighbours 0 "${INTERLEAVE[@]}"
else
  echo "mpiexec.mpich not found: the MPICH row is left out (apt-get install mpich)"
fi
