#!/usr/bin/env bash
# Installs what AllReduceNet needs and a fresh Debian or Ubuntu machine may lack: MPICH (and Open MPI, so both MPI
# ABIs are tested), the Fashion-MNIST data set, and the tools some tests drive (below). Uses sudo when not root.
# Safe to run again: it only installs what is missing.
set -euo pipefail

need=()
command -v mpiexec.mpich >/dev/null 2>&1 || need+=(mpich)
command -v mpiexec.openmpi >/dev/null 2>&1 || need+=(openmpi-bin)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
# The serving tests run an Open Inference Protocol client written in Python (standard library only).
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The batch-job test brings up a one-node Slurm (scripts/slurm/local-cluster.sh).
command -v slurmctld >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)
# The two-host cluster of the tests and figures (scripts/cluster): namespaces, veth, tc, nftables; iperf3 for the link's figure.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
# The status page test takes a screenshot of GET /status in headless Chromium (about 120 packages, 350 MB).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The container test builds the serving image offline and runs it (deploy/build-local-image.sh, docs/containers.md):
# podman as root with runc (crun fails in these sandboxes), debootstrap for the Debian base, curl for the checks. About
# 1.5 min on a quiet 2-core machine; without these tools LocalImageTests skips, as it did on fresh CI machines before.
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v curl >/dev/null 2>&1 || need+=(curl)

if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${need[*]} and no apt-get here; install them with your package manager." >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install ${need[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET SDK 10 is needed (dotnet not found on PATH): https://learn.microsoft.com/dotnet/core/install/linux" >&2
  exit 1
fi
