#!/usr/bin/env bash
# Reproduces the "client-level DP" section of benchmarks/RESULTS-privacy.md: DP-FedAvg on Fashion-MNIST, MLP
# 784,64,10, 100 clients (IID), 20 per round (q = 0.2), 1 local epoch, 50 rounds, 8 in-process ranks, CPU backend,
# delta 1e-5 (user level). Each run writes its JSON round log into benchmarks/results/client-dp/NAME.jsonl.
# Usage: benchmarks/run-client-dp.sh [NAME...]   (from the repository root; builds Release first; needs jq)
set -euo pipefail
[ -n "${TRAIN_DLL:-}" ] || dotnet build src/Training -c Release -v q > /dev/null
T=${TRAIN_DLL:-src/Training/bin/Release/net10.0/Train.dll}
R=benchmarks/results/client-dp
mkdir -p "$R"
COMMON="--strategy fedavg --ranks 8 --device cpu --layers 784,64,10 --rounds 50 --clients 100 --clients-per-round 20 --partition iid --local-epochs 1 --local-batch 32 --lr 0.05 --momentum 0.9 --lr-schedule constant"
DP="--client-dp --client-dp-delta 1e-5"
declare -A RUNS=(
  [nonprivate]=""
  [clip1-nonoise]="$DP --client-dp-clip 1 --client-dp-noise 0"
  [eps8]="$DP --client-dp-clip 1 --client-dp-epsilon 8"
  [eps8-clip0.2]="$DP --client-dp-clip 0.2 --client-dp-epsilon 8"
  [eps3]="$DP --client-dp-clip 1 --client-dp-epsilon 3"
  [eps3-clip0.2]="$DP --client-dp-clip 0.2 --client-dp-epsilon 3"
  [eps1-clip0.2]="$DP --client-dp-clip 0.2 --client-dp-epsilon 1"
  [eps1]="$DP --client-dp-clip 1 --client-dp-epsilon 1"
  [z0.1]="$DP --client-dp-clip 1 --client-dp-noise 0.1"
  [eps8-adaptive]="$DP --client-dp-clip 0.1 --client-dp-epsilon 8 --client-dp-adaptive"
  [eps8-adaptive-q0.1]="$DP --client-dp-clip 0.1 --client-dp-epsilon 8 --client-dp-adaptive --client-dp-quantile 0.1"
  [eps8-secure-split]="$DP --client-dp-clip 1 --client-dp-epsilon 8 --client-dp-noise-at clients --secure-aggregation --secagg-clip 4"
  [z0.1-secure-split]="$DP --client-dp-clip 1 --client-dp-noise 0.1 --client-dp-noise-at clients --secure-aggregation --secagg-clip 2"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(nonprivate clip1-nonoise eps8 eps8-clip0.2 eps3 eps3-clip0.2 eps1 eps1-clip0.2 z0.1 eps8-adaptive eps8-adaptive-q0.1 eps8-secure-split z0.1-secure-split)
for name in "${names[@]}"; do
  [ -n "${RUNS[$name]+set}" ] || { echo "unknown run $name" >&2; exit 2; }
  rm -f "$R/$name.jsonl"
  start=$(date +%s)
  # shellcheck disable=SC2086
  dotnet "$T" $COMMON ${RUNS[$name]} --quiet --no-checkpoint --log-json "$R/$name.jsonl"
  last=$(tail -1 "$R/$name.jsonl")
  echo "$name: acc $(jq -r '.test_accuracy' <<<"$last"), best $(jq -s 'map(.test_accuracy) | max' "$R/$name.jsonl"), epsilon $(jq -r '.client_dp_epsilon // "n/a"' <<<"$last"), clip $(jq -r '.client_dp_clip // "n/a"' <<<"$last"), $(( $(date +%s) - start )) s"
done
