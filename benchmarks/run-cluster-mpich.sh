#!/usr/bin/env bash
# MPICH across the two namespace hosts of scripts/cluster over UCX's tcp (benchmarks/RESULTS-cluster.md, section
# "mpich"): 1 rank per host, our ring against MPI_Allreduce (native) in the same job, 1 to 256 MiB; once with the
# binding's default (UCX_TCP_PUT_ENABLE=n, which avoids the MPI_Finalize hang of openucx/ucx#8738) and once with put
# enabled, to show what the workaround costs. Each job also reports whether MPI_Finalize returned by itself.
# Needs root and MPICH. Honours ARN_CLUSTER_PREFIX / ARN_CLUSTER_SUBNET (run it beside other clusters).
# Usage: benchmarks/run-cluster-mpich.sh [output-dir]   (default benchmarks/results)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/results}
prefix=${ARN_CLUSTER_PREFIX:-arn}
mkdir -p "$out"
scripts/cluster/netns-cluster.sh up
dotnet build benchmarks/AllReducePerf -c Release -v q -nologo >/dev/null
perf="dotnet $PWD/benchmarks/AllReducePerf/bin/Release/net10.0/AllReducePerf.dll"
hosts=$(mktemp)
scripts/cluster/netns-cluster.sh hostfile mpich 1 > "$hosts"
mpich="mpiexec.mpich -launcher ssh -launcher-exec $PWD/scripts/cluster/netns-ssh -f $hosts -iface ${prefix}br0 -genv UCX_TLS tcp,self -genv UCX_NET_DEVICES eth0"
sweep="-b 1M -e 256M -f 4 -n 5 -w 1 --algorithms native,ring --no-memcpy"

run() {
  local name=$1; shift
  echo "== $name (load average: $(cut -d' ' -f1-3 /proc/loadavg)): $*"
  local start=$SECONDS
  timeout 900 "$@" --csv "$out/$name.csv" 2>&1 | tee "$out/$name.txt"
  echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s; finalize watchdog fired: $(grep -c 'did not return within' "$out/$name.txt" || true) rank(s)" | tee -a "$out/$name.txt"
}
run cluster-mpich-2x1 $mpich -n 2 $perf $sweep
run cluster-mpich-2x1-put $mpich -genv UCX_TCP_PUT_ENABLE y -genv ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS 20 -n 2 $perf $sweep
rm -f "$hosts"
