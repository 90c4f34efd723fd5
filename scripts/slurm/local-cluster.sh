#!/usr/bin/env bash
# A one-node Slurm on this machine, for tests and trials: munged, slurmctld and slurmd, everything (config, keys,
# state, logs, pid files) inside one directory, on ports of its own, so it touches no system-wide Slurm.
#
#   scripts/slurm/local-cluster.sh up DIR [SLOTS]   # start; prints "export SLURM_CONF=DIR/slurm.conf"
#   scripts/slurm/local-cluster.sh down DIR         # stop every daemon started from DIR (safe to repeat, or after a crash)
#
# Needs root (slurmd runs jobs as their user) and Debian's slurm-wlm and munge. Exits 3 with the reason on stderr
# when the daemons cannot start, so a test can say "skipped" with it.
set -euo pipefail

cmd=${1:?usage: local-cluster.sh up|down DIR [SLOTS]}
dir=${2:?usage: local-cluster.sh up|down DIR [SLOTS]}
slots=${3:-4}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

stop() {
  # Our daemons only: the pids they wrote into DIR, newest first; then wait for them to go.
  for name in slurmd slurmctld munged; do
    pidfile="$dir/$name.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

fail() { echo "local-cluster: $*" >&2; stop; exit 3; }

case "$cmd" in
  down) stop; exit 0 ;;
  up) ;;
  *) echo "usage: local-cluster.sh up|down DIR [SLOTS]" >&2; exit 2 ;;
esac

[ "$(id -u)" -eq 0 ] || fail "needs root (slurmd starts jobs as their user)"
for program in munged slurmctld slurmd sbatch scontrol; do
  command -v "$program" >/dev/null 2>&1 || fail "$program is not installed (apt-get install slurm-wlm munge)"
done
stop  # a previous run that crashed left daemons behind

host=$(hostname -s)
# Ports of our own, derived from the directory, so that two clusters (two test runs) do not collide.
base=$(( 20000 + $(echo "$dir" | cksum | cut -d' ' -f1) % 20000 ))
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"

# munge: a fresh key, a socket in DIR.
[ -f "$dir/munge/munge.key" ] || { dd if=/dev/urandom bs=1 count=1024 of="$dir/munge/munge.key" status=none; chmod 400 "$dir/munge/munge.key"; }
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/munge.seed" \
  || fail "munged did not start: $(tail -n 3 "$dir/munged.log" 2>/dev/null)"

cat > "$dir/slurm.conf" <<CONF
ClusterName=allreducenet-test
SlurmctldHost=$host
SlurmctldPort=$base
SlurmdPort=$(( base + 1 ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MessageTimeout=5
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
# More slots than cores is fine here: the tests oversubscribe on purpose.
SlurmdParameters=config_overrides
NodeName=$host CPUs=$slots State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=30 State=UP OverSubscribe=YES
CONF

slurmctld -f "$dir/slurm.conf" || fail "slurmctld did not start: $(tail -n 5 "$dir/slurmctld.log" 2>/dev/null)"
slurmd -f "$dir/slurm.conf" || fail "slurmd did not start: $(tail -n 5 "$dir/slurmd.log" 2>/dev/null)"

export SLURM_CONF="$dir/slurm.conf"
# Up when the node is idle (at most 30 s).
deadline=$(( $(date +%s) + 30 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  state=$(timeout 5 sinfo -h -n "$host" -o %t 2>/dev/null || true)
  case "$state" in idle*|mix*) echo "export SLURM_CONF=$dir/slurm.conf"; exit 0 ;; esac
  sleep 0.5
done
fail "node $host did not become idle within 30 s (state '${state:-none}'): $(tail -n 5 "$dir/slurmctld.log" "$dir/slurmd.log" 2>/dev/null)"
