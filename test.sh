#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test project (in-process collectives,
# MPI jobs under mpiexec.mpich and mpiexec.openmpi, kernels, training), and prints one summary line.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh

log=$(mktemp)
status=0
dotnet build AllReduceNet.sln -c Release -v q -nologo 2>&1 | tail -n 3
# One test project at a time (-m:1): the collective suite keeps both cores busy. (The Kernels flake once blamed on this
# load was an unpinned host copy in IlgpuBuffer, fixed; HostCopyTests keeps it fixed.)
# The console logger at "minimal" prints each failed test's message and stack trace ("-v q" alone printed only its name).
dotnet test AllReduceNet.sln -c Release --no-build -v q -nologo -m:1 --logger "console;verbosity=minimal" 2>&1 | tee "$log" || status=$?
# The NuGet packages as an outside project uses them: packed into a local feed, samples/AllReduceHello built from it and run.
bash scripts/check-packages.sh || status=$?

passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -Eo 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
