#!/usr/bin/env bash
# The figures of benchmarks/RESULTS-cluster.md (section "clusternet"): across the two namespace hosts of
# scripts/cluster over TCP. Needs root, iperf3 and Open MPI (scripts/setup.sh installs them).
#   1. iperf3 over the veth pair between the hosts (10 s, one stream): the link's bandwidth.
#   2. 1 rank per host: our ring against MPI_Allreduce (native) in the same job, 1 to 256 MiB.
#   3. 2 hosts x 2 ranks: hierarchical against the flat ring and MPI_Allreduce in the same job.
# Usage: benchmarks/run-cluster.sh [output-dir]   (default benchmarks/results)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/results}
mkdir -p "$out"
scripts/cluster/netns-cluster.sh up
dotnet build benchmarks/AllReducePerf -c Release -v q -nologo >/dev/null
perf="dotnet $PWD/benchmarks/AllReducePerf/bin/Release/net10.0/AllReducePerf.dll"
shim=$PWD/scripts/cluster/netns-ssh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
hosts1=$(mktemp); hosts2=$(mktemp)
scripts/cluster/netns-cluster.sh hostfile openmpi 1 > "$hosts1"
scripts/cluster/netns-cluster.sh hostfile openmpi 2 > "$hosts2"
ompi="mpiexec.openmpi --oversubscribe --bind-to none --mca plm_rsh_agent $shim --mca pml ob1 --mca btl_tcp_if_include 10.213.0.0/24 --mca oob_tcp_if_include 10.213.0.0/24"

echo "== iperf3 host 2 -> host 1 over the veth pair"
$shim 10.213.0.11 "iperf3 -s -1 -D -B 10.213.0.11"
sleep 1
$shim 10.213.0.12 "iperf3 -c 10.213.0.11 -t 10 -f g" | tee "$out/cluster-iperf3.txt"

run() { local name=$1; shift; echo "== $name: $*"; timeout 900 "$@" --csv "$out/$name.csv" | tee "$out/$name.txt"; }
run cluster-openmpi-2x1 $ompi --mca btl tcp,self --hostfile "$hosts1" -n 2 $perf -b 1M -e 256M --algorithms native,ring --no-memcpy
run cluster-openmpi-2x2 $ompi --mca btl tcp,self,vader --hostfile "$hosts2" -n 4 $perf -b 4M -e 64M -f 4 -n 5 -w 1 --algorithms ring,hierarchical,native --no-memcpy
rm -f "$hosts1" "$hosts2"
