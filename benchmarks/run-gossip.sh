#!/usr/bin/env bash
# Reproduces the "gossip" section of benchmarks/RESULTS-p2p.md: Fashion-MNIST, 8 in-process ranks, CPU backend,
# ddp and gossip (ring, synchronous and asynchronous) at the same epochs, batch and learning-rate settings; then prints
# the table rows (accuracy against ddp, epoch times and their ratio to ddp's in this same run, communication share,
# consensus). Epoch times depend on the machine's load (printed before each run): compare them on a quiet machine.
# Usage: benchmarks/run-gossip.sh                 (from the repository root; builds Release first; needs jq)
#        EPOCHS=3 benchmarks/run-gossip.sh        (a shorter run)
#        TABLE_ONLY=1 benchmarks/run-gossip.sh    (reprint the table from the logs)
set -euo pipefail
EPOCHS=${EPOCHS:-10}
T=src/Training/bin/Release/net10.0/Train.dll
L=benchmarks/training-logs
mkdir -p "$L"
run() { local name=$1; shift; rm -f "$L/$name.jsonl"; echo "== $name: dotnet $T $* --no-checkpoint --log-json $L/$name.jsonl   (load: $(cut -d' ' -f1-3 /proc/loadavg))"; dotnet "$T" "$@" --no-checkpoint --log-json "$L/$name.jsonl" | tee "$L/$name.txt"; }
if [ -z "${TABLE_ONLY:-}" ]; then
  dotnet build src/Training -c Release -v q > /dev/null
  run ddp-8-p2p         --strategy ddp --ranks 8 --device cpu --epochs "$EPOCHS"
  run gossip-ring-8     --strategy gossip --topology ring --ranks 8 --device cpu --epochs "$EPOCHS"
  run gossip-ring-8-async --strategy gossip --topology ring --gossip-async --ranks 8 --device cpu --epochs "$EPOCHS"
fi

echo
echo "| run | final test accuracy | vs ddp (points) | epoch time mean / median / fastest | median vs ddp's | comm share | final consensus distance |"
echo "|---|---|---|---|---|---|---|"
row() {
  local label=$1 file=$L/$2.jsonl base=$L/ddp-8-p2p.jsonl
  [ -s "$file" ] || { echo "| $label | (no log: $file) | | | | | |"; return; }
  jq -s -r --arg run "$label" --slurpfile base "$base" '
    def pct: . * 10000 | round / 100;
    def r1: . * 10 | round / 10;
    def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    (map(.epoch_seconds)) as $t | ($base | map(.epoch_seconds) | median) as $ddp
    | "| \($run) | **\(.[-1].test_accuracy | pct)%** | \((.[-1].test_accuracy - $base[-1].test_accuracy) | pct) | \($t | add / length | r1) / \($t | median | r1) / \($t | min | r1) s | \(($t | median) / $ddp * 100 | round / 100)x | \(map(.communication_share) | add / length * 100 | round)% | \(.[-1].consensus_distance // "-") |"
  ' "$file"
}
row ddp ddp-8-p2p
row "gossip, ring, synchronous" gossip-ring-8
row "gossip, ring, --gossip-async" gossip-ring-8-async
