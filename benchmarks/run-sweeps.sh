#!/usr/bin/env bash
# Reruns the sweeps behind benchmarks/RESULTS.md and redraws the plot. Each sweep runs the MPI library's own
# MPI_Allreduce (algorithm 'native') in the same job as the baseline, and memcpy of the same size as the limit.
# Usage: benchmarks/run-sweeps.sh [output-dir]   (default benchmarks/results)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/results}
mkdir -p "$out"
dotnet build benchmarks/AllReducePerf -c Release -v q -nologo >/dev/null
perf="dotnet benchmarks/AllReducePerf/bin/Release/net10.0/AllReducePerf.dll"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

run() { local name=$1; shift; echo "== $name: $*"; "$@" --csv "$out/$name.csv" | tee "$out/$name.txt"; }

run mpich-2     mpiexec.mpich -n 2 $perf -b 8 -e 256M
run openmpi-2   mpiexec.openmpi --oversubscribe --bind-to none -n 2 $perf -b 8 -e 256M
run inproc-2    $perf --ranks 2 -b 8 -e 256M
run inproc-8    $perf --ranks 8 -b 8 -e 256M
run openmpi-8   mpiexec.openmpi --oversubscribe --bind-to none -n 8 $perf -b 8 -e 16M -n 5 -w 1 --algorithms native
run mpich-8     mpiexec.mpich -n 8 $perf -b 8 -e 1M -f 8 -n 3 -w 1 --algorithms native
$perf --plot "$out/mpich-2.csv,$out/openmpi-2.csv,$out/inproc-2.csv" --svg benchmarks/busbw-2ranks.svg
