#!/usr/bin/env bash
# Reproduces the "Reproducible" training table of benchmarks/RESULTS-training.md: Fashion-MNIST, the ./run.sh recipe
# (MLP 784-256-128-10, global batch 128, SGD 0.05 momentum 0.9 cosine), in-process ranks, CPU backend. For 1, 2 and
# 8 ranks, plain ddp, then ddp --reproducible (the default tree sum), then ddp --reproducible --reproducible-sum exact,
# back to back so that each ratio compares runs under the same load. The reproducible runs must print the same loss
# and accuracy on every rank count (their models are bitwise equal).
# Usage: benchmarks/run-reproducible.sh [EPOCHS] [RANKS...]   (from the repository root; builds Release first)
set -euo pipefail
EPOCHS=${1:-2}
shift || true
RANKS=${*:-1 2 8}
dotnet build src/Training -c Release -v q -nologo > /dev/null
T=src/Training/bin/Release/net10.0/Train.dll
L=benchmarks/training-logs
mkdir -p "$L"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run() { local name=$1; shift; rm -f "$L/$name.jsonl"; echo "== $name: dotnet $T $* --epochs $EPOCHS --device cpu --no-checkpoint"
        dotnet "$T" "$@" --epochs "$EPOCHS" --device cpu --no-checkpoint --log-json "$L/$name.jsonl" | grep -E "^epoch|accuracy" || true; }
for n in $RANKS; do
  run repro-ddp-$n         --ranks "$n"
  run repro-tree-$n        --ranks "$n" --reproducible
  run repro-exact-$n       --ranks "$n" --reproducible --reproducible-sum exact
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$L" $RANKS <<'PY'
import json, sys
logs, ranks = sys.argv[1], sys.argv[2:]
def read(name):
    rows = [json.loads(line) for line in open(f"{logs}/{name}.jsonl")]
    return [r["epoch_seconds"] for r in rows], rows[-1]["test_accuracy"] * 100
print("| ranks | ddp s/epoch | tree s/epoch | tree / ddp | exact s/epoch | exact / ddp | test acc ddp / tree / exact |")
print("|---|---|---|---|---|---|---|")
for n in ranks:
    d, da = read(f"repro-ddp-{n}"); t, ta = read(f"repro-tree-{n}"); e, ea = read(f"repro-exact-{n}")
    fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
    print(f"| {n} | {fmt(d)} | {fmt(t)} | {sum(t)/sum(d):.2f}x | {fmt(e)} | {sum(e)/sum(d):.2f}x | {da:.2f}% / {ta:.2f}% / {ea:.2f}% |")
PY
