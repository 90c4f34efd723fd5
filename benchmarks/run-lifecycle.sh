#!/usr/bin/env bash
# Reproduces the "retraining" section of benchmarks/RESULTS-lifecycle.md: issue 14's whole loop at full scale, over
# real HTTP on loopback (Serve.dll, the trainer and the monitor of src/Lifecycle; Train.dll as child processes):
# v1 trained on all of Fashion-MNIST (3 epochs); a seeded stream from test images 0..6999 turns to x' = 0.5 x + 100
# after 1,000 clean rows, every answer labeled through the feedback endpoint; the monitor asks for a retrain after 16
# drifted windows in a row (window 500, step 250); the trainer exports the feedback, retrains (3 epochs, the trainer's default
# --normalize per-sample, from scratch, feedback x 15), registers v2 and starts the A/B test; the stream goes on until the mSPRT decides. Then v1 and v2
# are scored on test images 7000..9999, which no version trained on: the goal is v2 on the shifted images within 1
# point of v1 on the clean ones.
# It is the end-to-end test of tests/AllReduceNet.Lifecycle.Tests at LIFECYCLE_SCALE=full (the test suite runs it small).
# Usage: benchmarks/run-lifecycle.sh   (from the repository root; needs Fashion-MNIST: scripts/setup.sh)
# Writes the figures as JSON to LIFECYCLE_RESULTS (default benchmarks/results/lifecycle-full.json) and prints them.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || { echo "run-lifecycle: no Fashion-MNIST: run scripts/setup.sh" >&2; exit 1; }
OUT=${LIFECYCLE_RESULTS:-$PWD/benchmarks/results/lifecycle-full.json}
mkdir -p "$(dirname "$OUT")"
echo "== build"
dotnet build tests/AllReduceNet.Lifecycle.Tests -c Release -v q -nologo 2>&1 | tail -n 2
echo "== the loop at full scale (about 10 minutes on a quiet 2-core machine)"
start=$(date +%s)
status=0
LIFECYCLE_SCALE=full LIFECYCLE_RESULTS=$OUT dotnet test tests/AllReduceNet.Lifecycle.Tests -c Release --no-build \
  --filter "FullyQualifiedName~LifecycleEndToEndTests" --logger "console;verbosity=detailed" 2>&1 \
  | grep -E '^ +(v1 |done|[0-9]+ clean|monitor asked|retrain job ended|experiment ended)|Passed|Failed|Assert|Error Message' || true
[ -f "$OUT" ] || { echo "run-lifecycle: the run wrote no figures ($OUT); see the test output above" >&2; exit 1; }
echo "== figures ($(( $(date +%s) - start )) s in all), from $OUT"
python3 - "$OUT" <<'PY' || cat "$OUT"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"| v1 clean | v1 shifted | v2 shifted | v2 clean | v2 shifted - v1 clean | shifted rows to trigger | shift->trigger | trigger->v2 registered | ->promotion | shift->promotion | experiment labels |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {r['V1Clean']:.2%} | {r['V1Shifted']:.2%} | {r['V2Shifted']:.2%} | {r['V2Clean']:.2%} | {100*(r['V2Shifted']-r['V1Clean']):+.2f} points | {r['ShiftedRowsToTrigger']} | {r['SecondsShiftToTrigger']:.1f} s | {r['SecondsTriggerToJobEnd']:.1f} s | {r['SecondsJobEndToDecision']:.1f} s | {r['SecondsShiftToPromotion']:.1f} s | {r['ExperimentLabeled']} |")
job = json.loads(r['JobJson']); exp = json.loads(r['ExperimentJson'])
print(f"job: {job['reason']}, {job['status']}, v{job['version']} from v{job['control_version']}, {job['feedback_rows']} feedback rows, validation accuracy {job['accuracy']}")
gap = 100 * (r['V2Shifted'] - r['V1Clean'])
print(f"goal (v2 on the shifted images within 1 point of v1 on the clean ones): {'met' if gap >= -1 else 'NOT met'} ({gap:+.2f} points)")
print(f"experiment: {exp['state']}, p {exp['test']['p_value']}, control {exp['variants']['control']['correct']}/{exp['variants']['control']['labeled']}, candidate {exp['variants']['candidate']['correct']}/{exp['variants']['candidate']['labeled']}")
PY
