#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs it in-process (ranks are threads, no MPI needed).
# Extra arguments go to the program, e.g. ./run.sh --ranks 8.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
dotnet build benchmarks/AllReducePerf -c Release -v q -nologo 2>&1 | tail -n 2
exec dotnet benchmarks/AllReducePerf/bin/Release/net10.0/AllReducePerf.dll "$@"
