#!/usr/bin/env bash
# Interleaved A/B without rebuilding: ddp, tree (this branch), tree (main at 47b5818), 1 epoch each.
cd /work/wt-reprotrain2
T=src/Training/bin/Release/net10.0/Train.dll; B=/tmp/rt2-base/$T
for n in ${RANKS:-8 2 4}; do
 for r in 1 2; do
  for cfg in "ddp $T" "tree $T --reproducible" "base $B --reproducible"; do
    set -- $cfg; name=$1; dll=$2; shift 2
    echo "== $name $n ranks, repeat $r, load $(cut -d' ' -f1 /proc/loadavg)"
    timeout 120 dotnet "$dll" --ranks $n "$@" --epochs 1 --device cpu --no-checkpoint | grep -E "^epoch +1/"
  done
 done
done
