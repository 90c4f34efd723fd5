#!/usr/bin/env bash
# Reproduces benchmarks/RESULTS-training.md: each strategy on Fashion-MNIST, in-process ranks, CPU backend.
# Usage: benchmarks/run-training.sh   (from the repository root; builds Release first)
set -euo pipefail
dotnet build src/Training -c Release -v q > /dev/null
T=src/Training/bin/Release/net10.0/Train.dll
L=benchmarks/training-logs
mkdir -p "$L"
run() { local name=$1; shift; rm -f "$L/$name.jsonl"; echo "== $name: dotnet $T $*"; dotnet "$T" "$@" --no-checkpoint --log-json "$L/$name.jsonl" | tee "$L/$name.txt"; }
run ddp-8        --strategy ddp --ranks 8 --device cpu
run zero-8       --strategy zero --ranks 8 --device cpu
run ps-sync-8    --strategy ps --ranks 8 --servers 1 --sync --device cpu
run ps-async-8   --strategy ps --ranks 8 --servers 1 --async --staleness 4 --device cpu
run ps-sync-8-scaled --strategy ps --ranks 8 --servers 2 --sync --normalize scale --device cpu
run ddp-8-no-overlap --strategy ddp --ranks 8 --no-overlap --device cpu
run pipeline-3   --strategy pipeline --ranks 3 --micro-batches 4 --device cpu
for n in 1 2 4; do run ddp-$n --strategy ddp --ranks $n --device cpu; done
