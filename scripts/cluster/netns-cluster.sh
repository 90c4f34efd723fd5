#!/usr/bin/env bash
# A two-host MPI cluster on one machine: network namespaces as hosts, each with a UTS namespace of its own (so MPI
# sees two nodes with two hostnames), joined by veth pairs on a bridge, over private addresses that exist only inside
# these namespaces. mpiexec reaches the hosts through the launcher shim netns-ssh (beside this script) in place of ssh.
#
#   netns-cluster.sh up        create it (idempotent: an existing, complete cluster is left as it is; leftovers of a
#                              crashed run are removed first)
#   netns-cluster.sh down      remove everything it made (safe to run when nothing is there)
#   netns-cluster.sh status    print the hosts, addresses and links; exit 0 when the cluster is complete, 1 otherwise
#   netns-cluster.sh hostfile mpich|openmpi SLOTS   print a hostfile for the two hosts with SLOTS slots each
#
# Names and addresses (override through the environment, e.g. to run two clusters side by side):
#   ARN_CLUSTER_PREFIX (arn): namespaces ${prefix}h1 and ${prefix}h2, bridge ${prefix}br0, host-side veths ${prefix}v1/2
#   ARN_CLUSTER_SUBNET (10.213.0): the bridge is .1, host N is .1N; /24
# The hosts' link is eth0 inside each namespace; faults go on the host-side end, e.g.
#   tc qdisc add dev arnv2 root netem delay 5ms loss 1%     ip link set arnv2 down
# Needs root, iproute2 and util-linux (unshare, nsenter).
set -euo pipefail

prefix=${ARN_CLUSTER_PREFIX:-arn}
subnet=${ARN_CLUSTER_SUBNET:-10.213.0}
bridge=${prefix}br0
state=/run/allreducenet-cluster/$prefix   # persistent UTS namespaces are bind mounts of files here
hosts=(1 2)

host_ns()   { echo "${prefix}h$1"; }
host_veth() { echo "${prefix}v$1"; }
host_addr() { echo "$subnet.1$1"; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then echo "netns-cluster: needs root (creates network namespaces)" >&2; exit 2; fi
  for tool in ip unshare nsenter; do
    command -v $tool >/dev/null 2>&1 || { echo "netns-cluster: $tool not found (Debian: iproute2, util-linux)" >&2; exit 2; }
  done
}

complete() {
  ip link show "$bridge" >/dev/null 2>&1 || return 1
  for h in "${hosts[@]}"; do
    ip netns list 2>/dev/null | grep -qw "$(host_ns $h)" || return 1
    ip link show "$(host_veth $h)" >/dev/null 2>&1 || return 1
    mountpoint -q "$state/uts-h$h" 2>/dev/null || return 1
    ip -n "$(host_ns $h)" -4 addr show dev eth0 2>/dev/null | grep -q "$(host_addr $h)/" || return 1
  done
}

down() {
  for h in "${hosts[@]}"; do
    # A rank still running inside a host would keep its namespaces alive after the names are gone: end it first.
    if ip netns list 2>/dev/null | grep -qw "$(host_ns $h)"; then
      for pid in $(ip netns pids "$(host_ns $h)" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$(host_ns $h)" 2>/dev/null || true
    fi
    ip link del "$(host_veth $h)" 2>/dev/null || true
    if mountpoint -q "$state/uts-h$h" 2>/dev/null; then umount "$state/uts-h$h" 2>/dev/null || umount -l "$state/uts-h$h" || true; fi
    rm -f "$state/uts-h$h"
  done
  ip link del "$bridge" 2>/dev/null || true
  rmdir "$state" 2>/dev/null || true
}

up() {
  if complete; then return 0; fi
  down   # a half-made cluster (a crash during up, or a crashed test) is removed before it is made again
  mkdir -p "$state"
  ip link add "$bridge" type bridge
  # A fixed address: a bridge otherwise takes the lowest of its ports' and changes it when a port is cut, and the hosts'
  # cached neighbour entry for it goes stale (mpiexec's daemons could not reach back for seconds after a cut link came back).
  ip link set "$bridge" address 02:00:0a:d5:00:01
  ip addr add "$subnet.1/24" dev "$bridge"
  ip link set "$bridge" up
  for h in "${hosts[@]}"; do
    ns=$(host_ns $h)
    ip netns add "$ns"
    ip link add "$(host_veth $h)" type veth peer name eth0 netns "$ns"
    ip link set "$(host_veth $h)" master "$bridge" up
    ip -n "$ns" addr add "$(host_addr $h)/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    # A persistent UTS namespace with the host's own name: MPI groups ranks into nodes by hostname.
    touch "$state/uts-h$h"
    unshare --uts="$state/uts-h$h" hostname "$ns"
  done
}

status() {
  if ! complete; then echo "netns-cluster ($prefix): not up"; return 1; fi
  for h in "${hosts[@]}"; do
    ns=$(host_ns $h)
    name=$(nsenter --net="/run/netns/$ns" --uts="$state/uts-h$h" hostname)
    qdisc=$(tc qdisc show dev "$(host_veth $h)" | head -1)
    link=$(ip -br link show "$(host_veth $h)" | awk '{print $2}')
    echo "host $name: $(host_addr $h) (namespace $ns, link $(host_veth $h) $link, qdisc: $qdisc)"
  done
}

hostfile() {
  local family=${1:?hostfile needs mpich or openmpi} slots=${2:-1}
  for h in "${hosts[@]}"; do
    case "$family" in
      mpich) echo "$(host_addr $h):$slots" ;;
      openmpi) echo "$(host_addr $h) slots=$slots" ;;
      *) echo "netns-cluster: hostfile family must be mpich or openmpi, not '$family'" >&2; exit 2 ;;
    esac
  done
}

case "${1:-}" in
  up) need_root; up; status ;;
  down) need_root; down ;;
  status) status ;;
  hostfile) shift; hostfile "$@" ;;
  *) echo "usage: $0 up|down|status|hostfile mpich|openmpi SLOTS" >&2; exit 2 ;;
esac
