#!/usr/bin/env bash
# Reproduces the "ledger" section of benchmarks/RESULTS-p2p.md: Fashion-MNIST, 8 in-process peers, CPU backend.
# fedavg (8 clients, all 8 every round) against --strategy p2p-ledger at the same rounds and local training, with no
# attacker and with 2 of the 8 peers sign-flipping (signflip:4; --malicious 0.3 of 8 rounds to the same 2);
# plain gossip (ring) for the same passes over the data; then a VERIFY_ROUNDS-block ledger for the time a new peer
# takes to verify it (the "ledger: N blocks ... verifies it in X s" line at the end of that run).
# Usage: benchmarks/run-ledger.sh            (from the repository root; builds Release first)
#        ROUNDS=5 VERIFY_ROUNDS=100 VERIFY_ARGS="--synthetic 800 --layers 784,32,10" benchmarks/run-ledger.sh   (short form)
set -euo pipefail
ROUNDS=${ROUNDS:-20}
VERIFY_ROUNDS=${VERIFY_ROUNDS:-100}
VERIFY_ARGS=${VERIFY_ARGS:-}
SKIP_GOSSIP=${SKIP_GOSSIP:-}
dotnet build src/Training -c Release -v q > /dev/null
T=src/Training/bin/Release/net10.0/Train.dll
L=benchmarks/training-logs/ledger
mkdir -p "$L"
D=${LEDGER_DIRS:-${TMPDIR:-/tmp}/arn-ledger-bench}   # the peers' ledger files: 8 copies of every block, kept out of the repository
run() { local name=$1; shift; rm -rf "$L/$name.jsonl" "$D/$name"; echo "== $name: dotnet $T $*"; dotnet "$T" "$@" --no-checkpoint --log-json "$L/$name.jsonl" | tee "$L/$name.txt"; }
common="--ranks 8 --device cpu --rounds $ROUNDS --local-epochs 1 --local-batch 32 --lr 0.05 --seed 1"
run fedavg-8             --strategy fedavg --clients 8 --clients-per-round 8 $common
run ledger-8             --strategy p2p-ledger --ledger-dir "$D/ledger-8" $common
run fedavg-8-signflip    --strategy fedavg --clients 8 --clients-per-round 8 --attack signflip:4 --malicious 2 $common
run ledger-8-signflip    --strategy p2p-ledger --ledger-dir "$D/ledger-8-signflip" --attack signflip:4 --malicious 2 $common
[ -n "$SKIP_GOSSIP" ] || run gossip-ring-8-ledger --strategy gossip --topology ring --ranks 8 --device cpu --epochs "$ROUNDS" --seed 1
# shellcheck disable=SC2086
run ledger-verify-$VERIFY_ROUNDS --strategy p2p-ledger --ranks 8 --device cpu --rounds "$VERIFY_ROUNDS" --ledger-dir "$D/ledger-verify-$VERIFY_ROUNDS" $VERIFY_ARGS
