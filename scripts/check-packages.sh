#!/usr/bin/env bash
# Packs AllReduceNet and AllReduceNet.Kernels into a local feed (samples/feed), then builds samples/AllReduceHello
# from that feed alone, as an outside project would, and runs it in-process and under mpiexec -n 2.
# Exits non-zero, naming the step, if any part fails. Used by test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
feed=samples/feed
packages=samples/.packages   # a restore cache of its own: always the package just packed, never a stale 0.1.0
rm -rf "$feed" "$packages/allreducenet" "$packages/allreducenet.kernels" samples/AllReduceHello/bin samples/AllReduceHello/obj
mkdir -p "$feed"
for project in src/Collectives src/Kernels; do
  dotnet pack "$project" -c Release -o "$feed" -v q -nologo >/dev/null || { echo "check-packages: dotnet pack $project failed" >&2; exit 1; }
done
ls "$feed"
dotnet build samples/AllReduceHello -c Release --packages "$packages" -v q -nologo >/dev/null \
  || { echo "check-packages: the sample did not build from the local feed" >&2; dotnet build samples/AllReduceHello -c Release --packages "$packages" -v q -nologo | tail -n 20 >&2; exit 1; }
app=samples/AllReduceHello/bin/Release/net10.0/AllReduceHello.dll
timeout 60 dotnet "$app" 3 || { echo "check-packages: the sample failed in-process" >&2; exit 1; }
if command -v mpiexec.mpich >/dev/null 2>&1; then
  timeout 120 mpiexec.mpich -n 2 dotnet "$app" || { echo "check-packages: the sample failed under mpiexec.mpich -n 2" >&2; exit 1; }
else
  echo "check-packages: mpiexec.mpich not found; skipped the MPI run" >&2
fi
echo "check-packages: ok"
