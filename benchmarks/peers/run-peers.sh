#!/usr/bin/env bash
# Train.dll against PyTorch on this machine, same recipe, same run (issue 17): MLP 784-256-128-10 on Fashion-MNIST,
# global batch 128, SGD 0.05 momentum 0.9 cosine, a warm-up epoch then 2 timed ones, samples/s. PyTorch (Debian's
# python3-torch) runs as 1 process with 1 thread and as DDP over gloo with 2 and 8 processes (torch threads = cores /
# processes, at least 1); Train.dll runs the same rank counts in-process, interleaved with PyTorch (torch 1, ours 1,
# torch 2, ours 2, ...), so both see the same load. Writes the section "against PyTorch" of
# benchmarks/RESULTS-training.md (between its peers markers) and the raw logs to benchmarks/peers/logs/.
#
# Train.dll's --strategy tensor (docs/tensor-parallel.md) also runs at the --tensor rank counts (default "2"), right
# after ddp at the same count, and is reported beside it against ddp's 1 rank.
#
# Usage (from anywhere): benchmarks/peers/run-peers.sh [--ranks "1 2 8"] [--tensor "2"] [--epochs 3] [--repeats 1] [--no-write]
# Installs python3-torch, libopenblas0-pthread (so PyTorch does not run on the reference BLAS), python3-numpy and
# dataset-fashion-mnist with apt-get when they are missing (root or sudo needed then; nothing else is downloaded).
set -euo pipefail
cd "$(dirname "$0")/../.."
RANKS="1 2 8"; TENSOR="2"; EPOCHS=3; REPEATS=1; WRITE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) RANKS="$2"; shift 2 ;;
    --tensor) TENSOR="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --no-write) WRITE=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run-peers.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$EPOCHS" -ge 2 ] || { echo "run-peers.sh: --epochs must be at least 2 (the first is the warm-up)" >&2; exit 2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for package in python3-torch python3-numpy libopenblas0-pthread dataset-fashion-mnist; do
  installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (apt-get)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; }
fi
# Debian's interpreter, where python3-torch is installed (not a pyenv or venv python that may come first on PATH).
PY=/usr/bin/python3
DATA=/usr/share/datasets/fashion-mnist

dotnet build src/Training -c Release -v q -nologo 2>&1 | tail -n 2
T=src/Training/bin/Release/net10.0/Train.dll
LOGS=benchmarks/peers/logs
rm -rf "$LOGS"; mkdir -p "$LOGS"
CORES=$(nproc)
STARTED="$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"

for repeat in $(seq 1 "$REPEATS"); do
  for ranks in $RANKS; do
    threads=$(( ranks == 1 ? 1 : (CORES / ranks > 0 ? CORES / ranks : 1) ))
    echo "== [$repeat] PyTorch, $ranks process(es), $threads thread(s) each"
    # OPENBLAS_CORETYPE is unset for PyTorch only: a forced core type can select slower kernels than the detected one.
    env -u OPENBLAS_CORETYPE timeout 3600 "$PY" benchmarks/peers/pytorch_ddp.py --procs "$ranks" --threads "$threads" \
      --epochs "$EPOCHS" --data "$DATA" | tail -n 1 > "$LOGS/pytorch-$ranks-$repeat.json"
    cat "$LOGS/pytorch-$ranks-$repeat.json"
    if [ "$ranks" -eq 1 ] && [ "$CORES" -gt 1 ]; then
      echo "== [$repeat] PyTorch, 1 process, $CORES threads (for reference)"
      env -u OPENBLAS_CORETYPE timeout 3600 "$PY" benchmarks/peers/pytorch_ddp.py --procs 1 --threads "$CORES" \
        --epochs "$EPOCHS" --data "$DATA" | tail -n 1 > "$LOGS/pytorch-1x$CORES-$repeat.json"
      cat "$LOGS/pytorch-1x$CORES-$repeat.json"
    fi
    echo "== [$repeat] Train.dll, $ranks rank(s) in-process"
    timeout 3600 dotnet "$T" --strategy ddp --ranks "$ranks" --epochs "$EPOCHS" --data "$DATA" --no-checkpoint \
      --log-json "$LOGS/train-$ranks-$repeat.jsonl" | grep -E "^epoch +[0-9]+/" | tee "$LOGS/train-$ranks-$repeat.txt"
    if [[ " $TENSOR " == *" $ranks "* ]]; then
      echo "== [$repeat] Train.dll --strategy tensor, $ranks rank(s) in-process"
      timeout 3600 dotnet "$T" --strategy tensor --ranks "$ranks" --epochs "$EPOCHS" --data "$DATA" --no-checkpoint \
        --log-json "$LOGS/train-tensor-$ranks-$repeat.jsonl" | grep -E "^epoch +[0-9]+/" | tee "$LOGS/train-tensor-$ranks-$repeat.txt"
    fi
  done
done

FINISHED="$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" benchmarks/peers/summarize.py --logs "$LOGS" --ranks "$RANKS" --tensor "$TENSOR" --cores "$CORES" --started "$STARTED" \
  --finished "$FINISHED" --command "benchmarks/peers/run-peers.sh --ranks \"$RANKS\" --tensor \"$TENSOR\" --epochs $EPOCHS --repeats $REPEATS" \
  $([ "$WRITE" -eq 1 ] && echo --write benchmarks/RESULTS-training.md)
