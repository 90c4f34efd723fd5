#!/usr/bin/env bash
# Reproduces the fedavg section of benchmarks/RESULTS-federated.md: Fashion-MNIST MLP (784,256,128,10), 100 clients,
# 10 per round, 1 local epoch, 100 rounds, 8 in-process ranks, CPU backend; client lr cosine-decayed over the rounds
# (the default) except in fedavg-iid-constant. Each run writes its round log as JSON
# lines and as CSV (round,clients_sampled,clients_survived,loss,test_accuracy,bytes_sent_per_client,round_seconds)
# into benchmarks/results/federated/.
# The secure-* and plain-100clients runs (section 'secure aggregation in training') run only when named.
# Usage: benchmarks/run-federated.sh [NAME...]   (from the repository root; builds Release first; needs jq)
set -euo pipefail
[ -n "${TRAIN_DLL:-}" ] || dotnet build src/Training -c Release -v q > /dev/null
T=${TRAIN_DLL:-src/Training/bin/Release/net10.0/Train.dll}
R=benchmarks/results/federated
mkdir -p "$R"
COMMON="--ranks 8 --device cpu --rounds 100 --clients 100 --clients-per-round 10 --local-epochs 1 --local-batch 32 --lr 0.05"
FEDAVG="--strategy fedavg --momentum 0.9"
FEDAVGM="--strategy fedavgm --server-momentum 0.9 --momentum 0"
declare -A RUNS=(
  [fedavg-iid]="$FEDAVG --partition iid"
  [fedavg-dirichlet0.5]="$FEDAVG --partition dirichlet:0.5"
  [fedavg-shards2]="$FEDAVG --partition shards:2"
  [fedavg-iid-dropout0.2]="$FEDAVG --partition iid --dropout 0.2"
  [fedavg-iid-constant]="$FEDAVG --partition iid --lr-schedule constant"
  [fedavgm-iid]="$FEDAVGM --partition iid"
  [fedavgm-dirichlet0.5]="$FEDAVGM --partition dirichlet:0.5"
  [fedavgm-shards2]="$FEDAVGM --partition shards:2"
  [fedprox-dirichlet0.5]="--strategy fedprox --mu 0.01 --momentum 0.9 --partition dirichlet:0.5"
  # Secure aggregation: the same runs as fedavg-iid and fedavg-iid-dropout0.2 with the sum made by the protocol
  # (full SecAgg, 10 clients per round, t = 6); compare their curves with those two.
  [secure-fedavg-iid]="$FEDAVG --partition iid --secure-aggregation"
  [secure-fedavg-iid-dropout0.2]="$FEDAVG --partition iid --dropout 0.2 --secure-aggregation"
  # Cost: 3 rounds of 100 participating clients (the whole population), SecAgg+ k = 16 beside full SecAgg.
  [secure-100clients-secaggplus16]="$FEDAVG --partition iid --secure-aggregation --secagg-neighbors 16"
  [secure-100clients-secagg]="$FEDAVG --partition iid --secure-aggregation"
  [plain-100clients]="$FEDAVG --partition iid"
)
# The 100-client runs replace COMMON's rounds and clients per round.
COMMON100="--ranks 8 --device cpu --rounds 3 --clients 100 --clients-per-round 100 --local-epochs 1 --local-batch 32 --lr 0.05"
declare -A COMMON_OF=([secure-100clients-secaggplus16]="$COMMON100" [secure-100clients-secagg]="$COMMON100" [plain-100clients]="$COMMON100")
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(fedavg-iid fedavg-dirichlet0.5 fedavg-shards2 fedavg-iid-dropout0.2 fedavg-iid-constant fedavgm-iid fedavgm-dirichlet0.5 fedavgm-shards2 fedprox-dirichlet0.5)
for name in "${names[@]}"; do
  args="${COMMON_OF[$name]:-$COMMON} ${RUNS[$name]}"
  rm -f "$R/$name.jsonl"
  echo "== $name: dotnet Train.dll $args"
  # shellcheck disable=SC2086
  dotnet "$T" $args --no-checkpoint --log-json "$R/$name.jsonl" > "$R/$name.txt"
  { echo "round,clients_sampled,clients_survived,loss,test_accuracy,bytes_sent_per_client,round_seconds,aggregation_seconds";
    jq -r '[.round,.clients_sampled,.clients_survived,.loss,.test_accuracy,.bytes_sent_per_client,.round_seconds,.aggregation_seconds] | @csv' "$R/$name.jsonl"; } > "$R/$name.csv"
  jq -s '"final \(.[-1].test_accuracy*100|.*100|round/100)%, best \(map(.test_accuracy)|max*100|.*100|round/100)% (round \(. as $a | ($a|map(.test_accuracy)|max) as $m | $a|map(select(.test_accuracy==$m))|.[0].round)), \(map(.round_seconds)|add|.*10|round/10) s of rounds"' -r "$R/$name.jsonl"
done
