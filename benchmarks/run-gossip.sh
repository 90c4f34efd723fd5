#!/usr/bin/env bash
# Reproduces the "gossip" section of benchmarks/RESULTS-p2p.md: Fashion-MNIST, 8 in-process ranks, CPU backend,
# ddp and gossip (ring, synchronous and asynchronous) at the same epochs, batch and learning-rate settings.
# Usage: benchmarks/run-gossip.sh   (from the repository root; builds Release first)
set -euo pipefail
dotnet build src/Training -c Release -v q > /dev/null
T=src/Training/bin/Release/net10.0/Train.dll
L=benchmarks/training-logs
mkdir -p "$L"
run() { local name=$1; shift; rm -f "$L/$name.jsonl"; echo "== $name: dotnet $T $*"; dotnet "$T" "$@" --no-checkpoint --log-json "$L/$name.jsonl" | tee "$L/$name.txt"; }
run ddp-8-p2p         --strategy ddp --ranks 8 --device cpu --epochs 10
run gossip-ring-8     --strategy gossip --topology ring --ranks 8 --device cpu --epochs 10
run gossip-ring-8-async --strategy gossip --topology ring --gossip-async --ranks 8 --device cpu --epochs 10
