#!/usr/bin/env bash
# Reproduces the "ledger" section of benchmarks/RESULTS-p2p.md: Fashion-MNIST, in-process peers, CPU backend.
# For each PEERS:MALICIOUS set of SETS: fedavg (PEERS clients, all of them every round), --strategy p2p-ledger and plain
# gossip (ring) with the same local training (one pass over each peer's data per round/epoch, batch 32 per peer,
# SGD lr 0.05 momentum 0, cosine decay, seed 1), first clean (once per peer count), then with MALICIOUS peers
# sign-flipping (signflip:4: fedavg clients and ledger peers report -4 x their delta; gossip attackers take -4 x each
# local step, docs/gossip.md). The malicious peers are the same seeded choice in all three strategies. Then a
# VERIFY_ROUNDS-block ledger for the time a new peer takes to verify it (VERIFY_ROUNDS=0 skips it), and the table.
# Multi-Krum's f is the ledger's default, floor((n - 3) / 2): 3 for 10 peers (n >= 2f + 3 holds, 7 of 10 accepted),
# 2 for 8 peers; 3 attackers of 8 exceed that f (f = 3 would need n >= 9), so the 8:3 row shows the rule beyond its bound.
# Usage: benchmarks/run-ledger.sh            (from the repository root; builds Release first; needs jq)
#        ROUNDS=10 SETS="10:3 8:3" VERIFY_ROUNDS=0 benchmarks/run-ledger.sh      (the figures of RESULTS-p2p.md)
#        TABLE_ONLY=1 SETS="10:3 8:3" benchmarks/run-ledger.sh                  (reprint the table from the logs)
#        TRAIN_DLL=/tmp/frozen/Train.dll ...: run a copied build (no build step)
set -euo pipefail
ROUNDS=${ROUNDS:-20}
SETS=${SETS:-"10:3 8:3 8:2"}
VERIFY_ROUNDS=${VERIFY_ROUNDS:-100}
VERIFY_ARGS=${VERIFY_ARGS:-}
SKIP_GOSSIP=${SKIP_GOSSIP:-}
TABLE_ONLY=${TABLE_ONLY:-}
T=${TRAIN_DLL:-src/Training/bin/Release/net10.0/Train.dll}   # TRAIN_DLL: a frozen copy of the build, so rebuilding meanwhile changes no run
L=benchmarks/training-logs/ledger
D=${LEDGER_DIRS:-${TMPDIR:-/tmp}/arn-ledger-bench}   # the peers' ledger files: a copy of every block per peer, kept out of the repository
mkdir -p "$L"
run() { local name=$1; shift; rm -rf "$L/$name.jsonl" "$D/$name"; echo "== $name: dotnet $T $* --no-checkpoint --log-json $L/$name.jsonl   (load: $(cut -d' ' -f1-3 /proc/loadavg))"; dotnet "$T" "$@" --no-checkpoint --log-json "$L/$name.jsonl" | tee "$L/$name.txt"; }
common() { echo "--ranks $1 --device cpu --rounds $ROUNDS --local-epochs 1 --local-batch 32 --lr 0.05 --seed 1"; }
# Gossip's epoch is one pass over the data: with a global batch of 32 per rank, each rank takes the steps of one local epoch.
gossip() { echo "--strategy gossip --topology ring --ranks $1 --device cpu --epochs $ROUNDS --batch-size $((32 * $1)) --lr 0.05 --momentum 0 --seed 1"; }

if [ -z "$TABLE_ONLY" ]; then
  [ -n "${TRAIN_DLL:-}" ] || dotnet build src/Training -c Release -v q > /dev/null
  done_clean=" "
  for set in $SETS; do
    n=${set%%:*} m=${set##*:}
    # shellcheck disable=SC2046
    if [[ "$done_clean" != *" $n "* ]]; then
      run "fedavg-$n"  --strategy fedavg --clients "$n" --clients-per-round "$n" $(common "$n")
      run "ledger-$n"  --strategy p2p-ledger --ledger-dir "$D/ledger-$n" $(common "$n")
      [ -n "$SKIP_GOSSIP" ] || run "gossip-ring-$n" $(gossip "$n")
      done_clean="$done_clean$n "
    fi
    # shellcheck disable=SC2046
    run "fedavg-$n-signflip-$m" --strategy fedavg --clients "$n" --clients-per-round "$n" --attack signflip:4 --malicious "$m" $(common "$n")
    # shellcheck disable=SC2046
    run "ledger-$n-signflip-$m" --strategy p2p-ledger --ledger-dir "$D/ledger-$n-signflip-$m" --attack signflip:4 --malicious "$m" $(common "$n")
    # shellcheck disable=SC2046
    [ -n "$SKIP_GOSSIP" ] || run "gossip-ring-$n-signflip-$m" $(gossip "$n") --attack signflip:4 --malicious "$m"
  done
  if [ "$VERIFY_ROUNDS" -gt 0 ]; then
    # shellcheck disable=SC2086
    run "ledger-verify-$VERIFY_ROUNDS" --strategy p2p-ledger --ranks 8 --device cpu --rounds "$VERIFY_ROUNDS" --ledger-dir "$D/ledger-verify-$VERIFY_ROUNDS" $VERIFY_ARGS
  fi
fi

# The table: final test accuracy (the global model for fedavg, the ledger's model, the honest ranks' averaged model for
# gossip), the gap to clean fedavg of the same peer count, what the verifiers left out, and the median seconds per round.
echo
echo "| peers | attackers | run | test accuracy after each round | final | vs clean fedavg | not accepted by the verifiers | median s/round |"
echo "|---|---|---|---|---|---|---|---|"
row() {
  local n=$1 m=$2 label=$3 file=$L/$4.jsonl base=$L/fedavg-$n.jsonl
  [ -s "$file" ] || { echo "| $n | $m | $label | (no log: $file) | | | | |"; return; }
  jq -s -r --arg n "$n" --arg m "$m" --arg run "$label" --slurpfile base "$base" '
    def pct: . * 10000 | round / 100;
    def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    (.[-1].test_accuracy) as $final | ($base[-1].test_accuracy) as $clean
    | (map(.round_seconds // .epoch_seconds // ((.train_seconds // 0) + (.ledger_seconds // 0))) | median) as $seconds
    | (if .[0].not_accepted == null then "-" else
         (map(.not_accepted | if length == 0 then "none" else map(tostring) | join(",") end) | group_by(.) | map("\(.[0]) x\(length)") | join("; ")) end) as $rejected
    | "| \($n) | \($m) | \($run) | \(map(.test_accuracy | pct | tostring) | join(", ")) | **\($final | pct)%** | \(($final - $clean) | pct) | \($rejected) | \($seconds * 100 | round / 100) |"
  ' "$file"
}
printed_clean=" "
for set in $SETS; do
  n=${set%%:*} m=${set##*:}
  malicious=$(jq -r '.malicious // empty | map(tostring) | join(",")' "$L/ledger-$n-signflip-$m.jsonl" 2>/dev/null | tail -1 || true)
  if [[ "$printed_clean" != *" $n "* ]]; then
    row "$n" 0 fedavg "fedavg-$n"
    row "$n" 0 p2p-ledger "ledger-$n"
    row "$n" 0 "gossip ring" "gossip-ring-$n"
    printed_clean="$printed_clean$n "
  fi
  row "$n" "$m (${malicious:-?})" fedavg "fedavg-$n-signflip-$m"
  row "$n" "$m (${malicious:-?})" p2p-ledger "ledger-$n-signflip-$m"
  row "$n" "$m (${malicious:-?})" "gossip ring" "gossip-ring-$n-signflip-$m"
done
