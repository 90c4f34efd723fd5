#!/usr/bin/env bash
# Reproduces the "robust aggregation" section of benchmarks/RESULTS-privacy.md: Fashion-MNIST MLP (784,256,128,10),
# fedavg, 100 IID (or Dirichlet 0.5) clients, 10 sampled per round, 1 local epoch, client SGD lr 0.05 momentum 0.9
# (cosine over the rounds), 8 in-process ranks, CPU backend, seed 1; 20% of the clients (20, a seeded choice) malicious.
# Each run writes its JSON round log into benchmarks/results/robust/NAME.jsonl; the script then prints the table
# (final and best test accuracy, rounds whose aggregate rejected / down-weighted malicious clients).
# Usage: benchmarks/run-robust.sh [NAME...]   (from the repository root; builds Release first unless TRAIN_DLL is set;
#        ROUNDS=N overrides the 50 rounds; needs jq). With no NAME, every run in the order of the table.
set -euo pipefail
[ -n "${TRAIN_DLL:-}" ] || dotnet build src/Training -c Release -v q > /dev/null
T=${TRAIN_DLL:-src/Training/bin/Release/net10.0/Train.dll}
R=benchmarks/results/robust
mkdir -p "$R"
ROUNDS=${ROUNDS:-50}
COMMON="--strategy fedavg --ranks 8 --device cpu --rounds $ROUNDS --clients 100 --clients-per-round 10 --local-epochs 1 --local-batch 32 --lr 0.05 --momentum 0.9 --seed 1"
SIGNFLIP="--attack signflip:4 --malicious 0.2"
ALIE="--attack alie --malicious 0.2"
declare -A RUNS=(
  [iid-noattack-mean]="--partition iid"
  [iid-signflip4-mean]="--partition iid $SIGNFLIP"
  [iid-signflip4-median]="--partition iid $SIGNFLIP --aggregator median"
  [iid-signflip4-trimmed0.2]="--partition iid $SIGNFLIP --aggregator trimmed-mean:0.2"
  [iid-signflip4-multikrum2,6]="--partition iid $SIGNFLIP --aggregator multikrum:2,6"
  [iid-signflip4-krum2]="--partition iid $SIGNFLIP --aggregator krum:2"
  [iid-signflip4-bulyan1]="--partition iid $SIGNFLIP --aggregator bulyan:1"
  [iid-signflip4-normbound1]="--partition iid $SIGNFLIP --aggregator norm-bound:1"
  [iid-signflip4-groups2-median]="--partition iid $SIGNFLIP --secure-aggregation --secure-groups 2 --aggregator median"
  [dir0.5-signflip4-mean]="--partition dirichlet:0.5 $SIGNFLIP"
  [dir0.5-signflip4-median]="--partition dirichlet:0.5 $SIGNFLIP --aggregator median"
  [dir0.5-signflip4-trimmed0.2]="--partition dirichlet:0.5 $SIGNFLIP --aggregator trimmed-mean:0.2"
  [dir0.5-signflip4-multikrum2,6]="--partition dirichlet:0.5 $SIGNFLIP --aggregator multikrum:2,6"
  [iid-alie-mean]="--partition iid $ALIE"
  [iid-alie-median]="--partition iid $ALIE --aggregator median"
  [iid-alie-trimmed0.2]="--partition iid $ALIE --aggregator trimmed-mean:0.2"
  [iid-alie-multikrum2,6]="--partition iid $ALIE --aggregator multikrum:2,6"
)
ORDER=(iid-signflip4-mean iid-signflip4-median iid-signflip4-trimmed0.2 iid-signflip4-multikrum2,6
  dir0.5-signflip4-mean dir0.5-signflip4-median dir0.5-signflip4-trimmed0.2 dir0.5-signflip4-multikrum2,6
  iid-alie-mean iid-alie-median iid-alie-trimmed0.2 iid-alie-multikrum2,6
  iid-signflip4-krum2 iid-signflip4-bulyan1 iid-signflip4-normbound1 iid-signflip4-groups2-median iid-noattack-mean)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${ORDER[@]}")
for name in "${names[@]}"; do
  args="$COMMON ${RUNS[$name]}"
  rm -f "$R/$name.jsonl"
  echo "== $name: dotnet Train.dll $args" >&2
  # shellcheck disable=SC2086
  dotnet "$T" $args --no-checkpoint --log-json "$R/$name.jsonl" > "$R/$name.txt"
done
echo "| run | extra arguments | final acc | best acc (round) | rounds with malicious clients | malicious updates rejected or down-weighted | benign updates rejected or down-weighted | s of rounds |"
echo "|---|---|---|---|---|---|---|---|"
for name in "${ORDER[@]}"; do
  [ -f "$R/$name.jsonl" ] || continue
  jq -s -r --arg name "$name" --arg args "${RUNS[$name]}" '
    def pct: .*10000|round/100;
    (map(.malicious // [] | length) | add) as $bad |
    (map((.malicious // []) as $m | ((.rejected // []) + (.down_weighted // [])) | map(select(. as $c | $m | index($c))) | length) | add) as $caught |
    (map((.malicious // []) as $m | ((.rejected // []) + (.down_weighted // [])) | map(select(. as $c | $m | index($c) | not)) | length) | add) as $benign |
    (map(.test_accuracy) | max) as $best |
    "| \($name) | `\($args)` | \(.[-1].test_accuracy|pct)% | \($best|pct)% (\(map(select(.test_accuracy==$best))|.[0].round)) | \(map(select((.malicious // []) | length > 0))|length)/\(length) | \($caught) of \($bad) | \($benign) | \(map(.round_seconds)|add|.*10|round/10) |"' "$R/$name.jsonl"
done
