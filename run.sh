#!/usr/bin/env bash
# The main job: installs what is missing, builds, and trains the MLP on Fashion-MNIST in-process (8 ranks as threads,
# data-parallel ddp, 10 epochs; no MPI needed). Extra arguments go to Train.dll, e.g. ./run.sh --strategy zero.
# Under MPI instead: mpiexec -n 8 dotnet src/Training/bin/Release/net10.0/Train.dll
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
dotnet build src/Training -c Release -v q -nologo 2>&1 | tail -n 2
exec dotnet src/Training/bin/Release/net10.0/Train.dll "$@"
