#!/usr/bin/env bash
# Reproduces the "compression and hogwild" section of benchmarks/RESULTS-training.md, in one run (so that every row
# shares the machine's load of the moment): Fashion-MNIST, MLP 784-256-128-10, 8 in-process ranks, CPU backend,
# global batch 128, the ./run.sh recipe (SGD lr 0.05 momentum 0.9, cosine) for ddp.
#  1. ddp --compress: uncompressed, fp16, bf16, topk:0.01, powersgd:4; EPOCHS epochs each (default 10): final test
#     accuracy, gradient bytes each rank sends per step (counted as the ring/all-gather would send them) and mean
#     epoch time, each against uncompressed.
#  2. hogwild against ps --async (7 workers + 1 server) and ddp, with --normalize scale (blank pixels are 0, so the
#     first layer's gradient rows for them are 0 and hogwild's updates are sparse): accuracy and samples/s.
# Each run's JSON log goes to benchmarks/results/compress/NAME.jsonl.
# Usage: benchmarks/run-compress.sh   (from the repository root; builds Release first; needs jq; EPOCHS=N to shorten)
set -euo pipefail
[ -n "${TRAIN_DLL:-}" ] || dotnet build src/Training -c Release -v q -nologo > /dev/null
T=${TRAIN_DLL:-src/Training/bin/Release/net10.0/Train.dll}
EPOCHS=${EPOCHS:-10}
R=benchmarks/results/compress
mkdir -p "$R"
COMMON="--ranks 8 --device cpu --layers 784,256,128,10 --batch-size 128 --epochs $EPOCHS --seed 1 --no-checkpoint"

run() {   # NAME ARGS...: one run, its log in $R/NAME.jsonl
  local name=$1; shift
  rm -f "$R/$name.jsonl"
  # shellcheck disable=SC2086
  dotnet "$T" $COMMON "$@" --log-json "$R/$name.jsonl" > "$R/$name.out"
}

# Mean over the epochs after the first (the first carries JIT and page-in); all of them when there is only one.
mean() { jq -s --arg f "$2" 'if length > 1 then .[1:] else . end | map(.[$f]) | add / length' "$R/$1.jsonl"; }
last() { jq -s --arg f "$2" '.[-1][$f]' "$R/$1.jsonl"; }

COMPRESSORS=(none fp16 bf16 topk:0.01 powersgd:4)
for c in "${COMPRESSORS[@]}"; do
  if [ "$c" = none ]; then run "ddp-none"; else run "ddp-${c/:/-}" --compress "$c"; fi
done
base_bytes=$(mean ddp-none bytes_per_step); base_time=$(mean ddp-none epoch_seconds); base_acc=$(last ddp-none test_accuracy)
echo "### ddp --compress, 8 ranks, $EPOCHS epochs"
echo
echo "| --compress | test accuracy | vs uncompressed | KiB sent per rank and step | fewer bytes | epoch s | epoch time vs uncompressed |"
echo "|---|---|---|---|---|---|---|"
for c in "${COMPRESSORS[@]}"; do
  n="ddp-${c/:/-}"
  jq -rn --arg c "$c" --argjson acc "$(last "$n" test_accuracy)" --argjson bytes "$(mean "$n" bytes_per_step)" --argjson t "$(mean "$n" epoch_seconds)" \
    --argjson bacc "$base_acc" --argjson bb "$base_bytes" --argjson bt "$base_time" \
    '"| \($c) | \(100*$acc*100|round/100)% | \(100*($acc-$bacc)*100|round/100) points | \($bytes/1024*10|round/10) | \($bb/$bytes*10|round/10)x | \($t*100|round/100) | \($t/$bt*100|round/100)x |"'
done
echo

SCALE="--normalize scale"
run hogwild --strategy hogwild $SCALE
run ps-async --strategy ps --async --servers 1 $SCALE
run ddp-scale $SCALE
echo "### hogwild against ps --async and ddp, 8 ranks, $EPOCHS epochs, --normalize scale"
echo
echo "| strategy | test accuracy | samples/s | epoch s | share of parameter entries written per update |"
echo "|---|---|---|---|---|"
for n in hogwild ps-async ddp-scale; do
  share=$(grep -o 'sparse updates: [0-9.]*%' "$R/$n.out" | grep -o '[0-9.]*%' || echo "all (dense)")
  jq -rn --arg n "$n" --argjson acc "$(last "$n" test_accuracy)" --argjson s "$(mean "$n" samples_per_second)" --argjson t "$(mean "$n" epoch_seconds)" --arg share "$share" \
    '"| \($n) | \(100*$acc*100|round/100)% | \($s|round) | \($t*100|round/100) | \($share) |"'
done
