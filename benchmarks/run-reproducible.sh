#!/usr/bin/env bash
# Reproduces the "Reproducible" training table of benchmarks/RESULTS-training.md: Fashion-MNIST, the ./run.sh recipe
# (MLP 784-256-128-10, global batch 128, SGD 0.05 momentum 0.9 cosine), in-process ranks, CPU backend. For each rank
# count: plain ddp and ddp --reproducible (the default tree sum) back to back, REPEATS times, so that each ratio
# compares runs under the same load; then once ddp --reproducible --reproducible-sum exact (the fixed-point sum).
# The table gives each configuration's best epoch (the least disturbed by other load) and the mean of all its epochs.
# The reproducible runs must print the same loss and accuracy on every rank count (their models are bitwise equal).
# BASE=DIR (a checkout of another commit, e.g. `git worktree add /tmp/base main`) adds that commit's ddp --reproducible,
# built there, to every repeat (ddp, tree, base tree back to back), so a change is A/B'd under the same load; its
# column compares it to this build's ddp. PRIORITY="chrt -f 10" (as root) runs every training under real-time
# priority, for figures on a machine that others load.
# Usage: [REPEATS=2] [EXACT=0] [BASE=DIR] [PRIORITY=...] benchmarks/run-reproducible.sh [EPOCHS] [RANKS...]   (from the repository root)
set -euo pipefail
EPOCHS=${1:-2}
shift || true
RANKS=${*:-1 2 8}
REPEATS=${REPEATS:-2}
EXACT=${EXACT:-1}
BASE=${BASE:-}
PRIORITY=${PRIORITY:-}
dotnet build src/Training -c Release -v q -nologo > /dev/null
T=src/Training/bin/Release/net10.0/Train.dll
if [ -n "$BASE" ]; then
  dotnet build "$BASE/src/Training" -c Release -v q -nologo > /dev/null
  echo "base: $BASE at $(git -C "$BASE" rev-parse --short HEAD 2>/dev/null || echo 'an unversioned copy')"
fi
L=benchmarks/training-logs
mkdir -p "$L"
rm -f "$L"/repro-*.jsonl
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# run NAME TRAIN_DLL ARGS...
run() { local name=$1 dll=$2; shift 2; echo "== $name: $PRIORITY dotnet $dll $* --epochs $EPOCHS --device cpu --no-checkpoint"
        $PRIORITY dotnet "$dll" "$@" --epochs "$EPOCHS" --device cpu --no-checkpoint --log-json "$L/$name.jsonl" | grep -E "^epoch +[0-9]+/" || true; }
for n in $RANKS; do
  for r in $(seq 1 "$REPEATS"); do
    run repro-ddp-$n-$r    "$T" --ranks "$n"
    run repro-tree-$n-$r   "$T" --ranks "$n" --reproducible
    if [ -n "$BASE" ]; then run repro-base-$n-$r "$BASE/$T" --ranks "$n" --reproducible; fi
  done
  if [ "$EXACT" = 1 ]; then run repro-exact-$n-1 "$T" --ranks "$n" --reproducible --reproducible-sum exact; fi
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done
python3 - "$L" $RANKS <<'PY'
import glob, json, sys
logs, ranks = sys.argv[1], sys.argv[2:]
def read(kind, n):
    seconds, acc = [], set()
    for path in sorted(glob.glob(f"{logs}/repro-{kind}-{n}-*.jsonl")):
        rows = [json.loads(line) for line in open(path)]
        seconds += [r["epoch_seconds"] for r in rows]
        acc.add(f"{rows[-1]['test_accuracy'] * 100:.2f}%")
    return seconds, "/".join(sorted(acc))
print("| ranks | ddp best / mean s | tree best / mean s | tree / ddp (best, mean) | base tree best / mean s | base tree / ddp (best, mean) | exact best / mean s | exact / ddp (best, mean) | test acc ddp, tree, base, exact |")
print("|---|---|---|---|---|---|---|---|---|")
for n in ranks:
    d, da = read("ddp", n); t, ta = read("tree", n); b, ba = read("base", n); e, ea = read("exact", n)
    cell = lambda xs: f"{min(xs):.2f} / {sum(xs)/len(xs):.2f}" if xs else "-"
    ratio = lambda xs: f"{min(xs)/min(d):.2f}x, {sum(xs)/len(xs)/(sum(d)/len(d)):.2f}x" if xs else "-"
    print(f"| {n} | {cell(d)} | {cell(t)} | {ratio(t)} | {cell(b)} | {ratio(b)} | {cell(e)} | {ratio(e)} | {da}, {ta}, {ba or '-'}, {ea or '-'} |")
PY
