#!/usr/bin/env bash
# The figures of benchmarks/RESULTS-cluster.md (sections "clusternet" and "tcp"): across the two namespace hosts of
# scripts/cluster over TCP. Needs root, iperf3 and Open MPI (scripts/setup.sh installs them).
#   link   iperf3 over the veth pair between the hosts (10 s): one stream, and --bidir (one stream each way).
#   ratio  ROUNDS rounds (default 3), each: iperf3 one stream and --bidir (5 s each), then 1 rank per host our ring at 16 and 64 MiB
#          over the socket channel (the default across nodes), then the same over MPI's own path
#          (ALLREDUCENET_MPI_SOCKETS=0); prints ring busbw / iperf3 per round and the median (the issue's goal: >= 0.8x
#          of iperf3 at 64 MiB). Same run, so the ratio holds even on a loaded machine. With 2 ranks the ring sends its
#          bytes both ways at once, so the ring's busbw is also set against iperf3 --bidir's mean per direction.
#   sweep  1 rank per host: our ring against MPI_Allreduce (native) in the same job, 1 MiB to SWEEP_MAX (default 256M),
#          ROUNDS rounds (default 3). Each round runs one job per MPI library in SWEEP_MPI (default "openmpi"; add
#          "mpich" for MPICH over UCX's tcp), per path in SWEEP_PATHS (default "mpi": MPI's point-to-point; "sockets":
#          ALLREDUCENET_MPI_SOCKETS=1) and per segment size in SEGMENTS (default "default": the transport's own; e.g.
#          "default 256K 1M 4M" sets ALLREDUCENET_SEGMENT_BYTES), so the variants interleave; native and ring of one
#          size take turns call by call in each job (INTERLEAVE=0: blocks of calls). Prints ring / native per round and the median per variant and size
#          ($out/cluster-sweep-summary.txt). The issue's goal: >= 1.0x at every size from 1 MiB.
#   hier   2 hosts x 2 ranks: hierarchical against the flat ring and MPI_Allreduce in the same job.
# Usage: benchmarks/run-cluster.sh [output-dir] [steps]   (default benchmarks/results, link,ratio,sweep,hier)
# The cluster's names and subnet follow ARN_CLUSTER_PREFIX and ARN_CLUSTER_SUBNET (scripts/cluster/netns-cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/results}
steps=${2:-link,ratio,sweep,hier}
rounds=${ROUNDS:-3}
subnet=${ARN_CLUSTER_SUBNET:-10.213.0}
host1=$subnet.11 host2=$subnet.12
mkdir -p "$out"
scripts/cluster/netns-cluster.sh up
dotnet build benchmarks/AllReducePerf -c Release -v q -nologo >/dev/null
perf="dotnet $PWD/benchmarks/AllReducePerf/bin/Release/net10.0/AllReducePerf.dll"
shim=$PWD/scripts/cluster/netns-ssh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
hosts1=$(mktemp); hosts2=$(mktemp)
trap 'rm -f "$hosts1" "$hosts2"' EXIT
scripts/cluster/netns-cluster.sh hostfile openmpi 1 > "$hosts1"
scripts/cluster/netns-cluster.sh hostfile openmpi 2 > "$hosts2"
ompi="mpiexec.openmpi --oversubscribe --bind-to none --mca plm_rsh_agent $shim --mca pml ob1 --mca btl_tcp_if_include $subnet.0/24 --mca oob_tcp_if_include $subnet.0/24"
has() { [[ ",$steps," == *",$1,"* ]]; }

# iperf3 from host 2 to host 1 (a one-off server on host 1); prints the receiver's Gbit/s (the sum of both
# directions' receivers with --bidir), the full report in $out/$name.txt.
iperf() {
  local name=$1; shift
  $shim "$host1" "iperf3 -s -1 -D -B $host1"
  sleep 1
  $shim "$host2" "iperf3 -c $host1 -f g $*" > "$out/$name.txt"
  awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i+1) == "Gbits/sec") { sum += $i; n++ } } END { printf "%.2f %d\n", sum, n }' "$out/$name.txt"
}

# The ring's busbw (GB/s) at SIZE bytes in an AllReducePerf report.
busbw() { awk -v size="$2" '$1 == size && $4 == "ring" { print $7 }' "$1"; }

if has link; then
  echo "== link: iperf3 host 2 -> host 1 over the veth pair (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  read -r one _ < <(iperf cluster-iperf3 -t 10)
  read -r both n < <(iperf cluster-iperf3-bidir -t 10 --bidir)
  echo "one stream: $one Gbit/s; --bidir: $both Gbit/s in all over $n directions"
fi

if has ratio; then
  summary="$out/cluster-tcp-ratio.txt"
  echo "# ring busbw (1 rank per host) against iperf3 one stream in the same round; GB/s = Gbit/s / 8" > "$summary"
  echo "# round load1 iperf3_GBps sockets_16M sockets_64M mpi_16M mpi_64M sockets_64M/iperf3 mpi_64M/iperf3 bidir_GBps_each_way sockets_64M/bidir" >> "$summary"
  for round in $(seq 1 "$rounds"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    read -r gbit _ < <(iperf "cluster-tcp-iperf3-$round" -t 5)
    read -r bidir ways < <(iperf "cluster-tcp-iperf3-bidir-$round" -t 5 --bidir)
    for path in sockets mpi; do
      flag=$([ $path = sockets ] && echo 1 || echo 0)
      timeout 600 $ompi --mca btl tcp,self -x ALLREDUCENET_MPI_SOCKETS=$flag --hostfile "$hosts1" -n 2 \
        $perf -b 16M -e 64M -f 4 --algorithms ring --no-memcpy > "$out/cluster-tcp-$path-$round.txt"
    done
    s16=$(busbw "$out/cluster-tcp-sockets-$round.txt" 16777216); s64=$(busbw "$out/cluster-tcp-sockets-$round.txt" 67108864)
    m16=$(busbw "$out/cluster-tcp-mpi-$round.txt" 16777216); m64=$(busbw "$out/cluster-tcp-mpi-$round.txt" 67108864)
    awk -v r="$round" -v l="$load" -v g="$gbit" -v s16="$s16" -v s64="$s64" -v m16="$m16" -v m64="$m64" -v b="$bidir" -v w="$ways" \
      'BEGIN { i = g / 8; e = b / 8 / w; printf "%d %s %.3f %s %s %s %s %.2f %.2f %.3f %.2f\n", r, l, i, s16, s64, m16, m64, s64 / i, m64 / i, e, s64 / e }' >> "$summary"
  done
  median() { grep -v '^#' "$summary" | awk -v c="$1" '{ print $c }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
  echo "# median over $rounds rounds: sockets 64 MiB / iperf3 = $(median 8)x, MPI path 64 MiB / iperf3 = $(median 9)x (goal >= 0.8x); sockets 64 MiB / iperf3 --bidir each way = $(median 11)x" >> "$summary"
  echo "== ratio: the ring against iperf3, $rounds rounds"
  cat "$summary"
fi

run() { local name=$1; shift; echo "== $name: $*"; timeout 900 "$@" --csv "$out/$name.csv" | tee "$out/$name.txt"; }
if has sweep; then
  sweep_max=${SWEEP_MAX:-256M}
  # Native and ring take turns call by call, each timed as its median call (AllReducePerf --interleave); INTERLEAVE=0
  # times blocks of calls back to back instead (the figures before 2 December 10:00).
  interleave=$([ "${INTERLEAVE:-1}" = 1 ] && echo --interleave || true)
  summary="$out/cluster-sweep-summary.txt"
  mpich_hosts=$(mktemp)
  trap 'rm -f "$hosts1" "$hosts2" "$mpich_hosts"' EXIT
  scripts/cluster/netns-cluster.sh hostfile mpich 1 > "$mpich_hosts"
  echo "# 1 rank per host, ring busbw / MPI_Allreduce busbw in the same job; $rounds rounds; $(date -u '+%F %H:%M UTC')" > "$summary"
  echo "# round load1 mpi path segment bytes native_GBps ring_GBps ring/native" >> "$summary"
  # Segment sizes as bytes: 256K -> 262144, 4M -> 4194304; "default" stays the transport's own.
  to_bytes() { case $1 in default) echo default ;; *K) echo $(( ${1%K} << 10 )) ;; *M) echo $(( ${1%M} << 20 )) ;; *) echo "$1" ;; esac; }
  for round in $(seq 1 "$rounds"); do
    for mpi in ${SWEEP_MPI:-openmpi}; do
      for path in ${SWEEP_PATHS:-mpi}; do
        for segment in ${SEGMENTS:-default}; do
          bytes=$(to_bytes "$segment")
          flag=$([ "$path" = sockets ] && echo 1 || echo 0)
          name="cluster-sweep-$mpi-$path-$segment-$round"
          load=$(cut -d' ' -f1 /proc/loadavg)
          if [ "$mpi" = mpich ]; then
            env_args=(-genv ALLREDUCENET_MPI_SOCKETS "$flag")
            [ "$bytes" = default ] || env_args+=(-genv ALLREDUCENET_SEGMENT_BYTES "$bytes")
            launcher=(mpiexec.mpich -launcher ssh -launcher-exec "$shim" -f "$mpich_hosts" -iface "${ARN_CLUSTER_PREFIX:-arn}br0"
              -genv UCX_TLS tcp,self -genv UCX_NET_DEVICES eth0 "${env_args[@]}")
          else
            env_args=(-x ALLREDUCENET_MPI_SOCKETS="$flag")
            [ "$bytes" = default ] || env_args+=(-x ALLREDUCENET_SEGMENT_BYTES="$bytes")
            launcher=($ompi --mca btl tcp,self --hostfile "$hosts1" "${env_args[@]}")
          fi
          echo "== $name (load average $(cut -d' ' -f1-3 /proc/loadavg))"
          run "$name" "${launcher[@]}" -n 2 $perf -b 1M -e "$sweep_max" --algorithms native,ring --no-memcpy $interleave >/dev/null
          awk -v r="$round" -v l="$load" -v m="$mpi" -v p="$path" -v s="$segment" \
            '$4 == "native" { native[$1] = $7 } $4 == "ring" { ring[$1] = $7; order[++n] = $1 }
             END { for (i = 1; i <= n; i++) { b = order[i]; printf "%d %s %s %s %s %s %s %s %.2f\n", r, l, m, p, s, b, native[b], ring[b], ring[b] / native[b] } }' \
            "$out/$name.txt" >> "$summary"
        done
      done
    done
  done
  # The median of the rounds' ratios per variant (mpi, path, segment) and size; the lower middle for an even count.
  echo "# median ring/native over $rounds rounds, per variant and size (goal >= 1.0x from 1 MiB):" >> "$summary"
  grep -v '^#' "$summary" | sort -s -k3,3 -k4,4 -k5,5 -k6,6n | awk '
    function flush(   i, j, t) {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
      printf "# %-32s median %.2fx  (by round:%s)\n", last, v[int((n + 1) / 2)], all; n = 0; all = "" }
    { key = $3 " " $4 " " $5 " " $6; if (key != last && last != "") flush(); last = key; v[++n] = $9 + 0; all = all " " $9 }
    END { if (n) flush() }' >> "$summary"
  echo "== sweep: ring / native, $rounds rounds"
  cat "$summary"
fi
if has hier; then
  run cluster-openmpi-2x2 $ompi --mca btl tcp,self,vader --hostfile "$hosts2" -n 4 $perf -b 4M -e 64M -f 4 -n 5 -w 1 --algorithms ring,hierarchical,native --no-memcpy
fi
