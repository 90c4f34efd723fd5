#!/usr/bin/env bash
# A/B of the masked ring AllReduce between two builds of MaskedAllReducePerf ("maskspeed 7" of
# benchmarks/RESULTS-federated.md): PAIRS alternating runs (A, B, A, B, ...) of the in-process benchmark (RANKS) at
# 1, 16 and 64 MiB under `chrt -f 10` (in-process only; never MPI under real-time priority), each printing the
# best-of-rounds table and the interleaved medians (--interleave), so both builds meet the same load. Then a summary:
# per pair and build, the masked ring's interleaved median and best-of-rounds time (us) and both ratios to the plain
# ring of the same run.
# Usage: benchmarks/run-maskspeed-ab.sh A_DIR B_DIR [PAIRS]   (each DIR holds a built MaskedAllReducePerf.dll, e.g.
#   main's bin/Release/net10.0 copied to /tmp/mr-base, this branch's to /tmp/mr-new); OUT= for the raw outputs
#   (default benchmarks/results/masked/maskspeed7), CALLS= calls per variant under --interleave (default 21),
#   RANKS= in-process ranks (default 2) and NEIGHBOURS= (default 0; 1 for the rows of 4 and 8 ranks: the summary then
#   reads the 'masked ring chacha8, 2 nbrs' rows, "maskspeed 10").
set -euo pipefail
A=${1:?usage: run-maskspeed-ab.sh A_DIR B_DIR [PAIRS]}; B=${2:?usage: run-maskspeed-ab.sh A_DIR B_DIR [PAIRS]}
PAIRS=${3:-5}
RANKS=${RANKS:-2}
NEIGHBOURS=${NEIGHBOURS:-0}
VARIANT="all $((RANKS - 1)) "
[ "$NEIGHBOURS" -gt 0 ] && VARIANT="$((2 * NEIGHBOURS)) nbrs"
OUT=${OUT:-benchmarks/results/masked/maskspeed7}
mkdir -p "$OUT"
for dir in "$A" "$B"; do [ -f "$dir/MaskedAllReducePerf.dll" ] || { echo "no MaskedAllReducePerf.dll in $dir"; exit 2; }; done
PRIO=(chrt -f 10)
[ "$(id -u)" = 0 ] || PRIO=()
for pair in $(seq 1 "$PAIRS"); do
  for side in A B; do
    dir=$A; [ $side = B ] && dir=$B
    file="$OUT/ab-pair$pair-$side.txt"
    {
      echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), build $side = $dir"
      "${PRIO[@]}" dotnet "$dir/MaskedAllReducePerf.dll" --ranks "$RANKS" --sizes 1,16,64 --iters 5 --rounds 3 --neighbours "$NEIGHBOURS" --interleave --calls "${CALLS:-21}"
    } > "$file" 2>&1
  done
done
# Summary: the best-of-rounds rows (with 'yes'/'no' in the exact column) and the interleaved rows (without).
echo "pair side  size  | masked best(us) x plain | masked median(us) x plain | load"
for pair in $(seq 1 "$PAIRS"); do
  for side in A B; do
    file="$OUT/ab-pair$pair-$side.txt"
    load=$(head -1 "$file" | sed 's/.*load average \([0-9.]*\).*/\1/')
    for size in 1 16 64; do
      best=$(grep -E "^ +$size MiB masked ring chacha8, $VARIANT.* (yes|no) " "$file" | awk '{print $(NF-6)" "$(NF-3)}')
      median=$(grep -E "^ +$size MiB masked ring chacha8, $VARIANT" "$file" | grep -vE " (yes|no) " | awk '{print $(NF-4)" "$NF}')
      printf "%4s %4s %5s | %22s | %24s | %s\n" "$pair" "$side" "$size" "$best" "$median" "$load"
    done
  done
done
