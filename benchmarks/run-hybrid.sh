#!/usr/bin/env bash
# Reproduces the "hybrid and downpour" section of benchmarks/RESULTS-training.md: Fashion-MNIST, 8 in-process ranks,
# CPU backend, the same recipe as run-training.sh (global batch 128, SGD 0.05 momentum 0.9 cosine, 10 epochs).
# Each hybrid run follows its ddp baseline with the same layers, so both see the same load; the table at the end
# gives accuracy and mean epoch time against that baseline.
# Usage: benchmarks/run-hybrid.sh [EPOCHS]   (from the repository root; builds Release first)
set -euo pipefail
EPOCHS=${1:-10}
DEEP=784,512,256,256,128,10
dotnet build src/Training -c Release -v q > /dev/null
T=src/Training/bin/Release/net10.0/Train.dll
L=benchmarks/training-logs
mkdir -p "$L"
run() { local name=$1; shift; rm -f "$L/$name.jsonl"; echo "== $name: dotnet $T $*"; dotnet "$T" "$@" --epochs "$EPOCHS" --device cpu --no-checkpoint --log-json "$L/$name.jsonl" | tee "$L/$name.txt"; }
run hybrid-ddp-8            --strategy ddp --ranks 8
run hybrid-2x4              --strategy hybrid --ranks 8 --stages 2
run hybrid-ddp-8-deep       --strategy ddp --ranks 8 --layers $DEEP
run hybrid-4x2-deep         --strategy hybrid --ranks 8 --stages 4 --layers $DEEP
run downpour-3x2-2servers   --strategy downpour --ranks 8 --servers 2 --stages 2
run downpour-7x1-1server    --strategy downpour --ranks 8 --servers 1
python3 - "$L" <<'PY'
import json, sys
logs = sys.argv[1]
def read(name):
    rows = [json.loads(line) for line in open(f"{logs}/{name}.jsonl")]
    return rows[-1]["test_accuracy"] * 100, sum(r["epoch_seconds"] for r in rows) / len(rows)
print("| run | test accuracy | vs ddp | mean epoch | vs ddp |")
print("|---|---|---|---|---|")
for name, base in [("hybrid-ddp-8", None), ("hybrid-2x4", "hybrid-ddp-8"), ("hybrid-ddp-8-deep", None),
                   ("hybrid-4x2-deep", "hybrid-ddp-8-deep"), ("downpour-3x2-2servers", "hybrid-ddp-8"), ("downpour-7x1-1server", "hybrid-ddp-8")]:
    acc, sec = read(name)
    if base is None:
        print(f"| {name} | {acc:.2f}% | | {sec:.2f} s | |")
    else:
        bacc, bsec = read(base)
        print(f"| {name} | {acc:.2f}% | {acc - bacc:+.2f} | {sec:.2f} s | {sec / bsec:.2f}x |")
PY
