#!/usr/bin/env python3
"""Turns the logs of benchmarks/peers/run-peers.sh into the "against PyTorch" table of benchmarks/RESULTS-training.md.

Train.dll's samples/s is over the epochs after the first (the warm-up), from its --log-json records, as PyTorch's is;
with several repeats each figure is the median. The section is written between the markers below (appended with its
heading when the file has none yet), so a rerun replaces it.
"""
import argparse
import glob
import json
import os
import statistics
import sys

BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"
HEADING = "## Speed: against PyTorch (speed)"
# The issue's limit: 1.4 MFLOP per sample (forward and backward) at the kernels' measured 219 GFLOP/s matmul peak.
FLOP_LIMIT = 150_000
GOALS = {1: 1.2, 2: 2.0, 8: 4.0}
PHASES = ["data_loading", "forward", "backward", "allreduce_wait", "optimizer", "other"]


def train_figures(path):
    records = [json.loads(line) for line in open(path) if line.strip()]
    timed = records[1:]
    if not timed:
        sys.exit(f"summarize.py: {path} has no epoch after the warm-up")
    samples = sum(r["samples_per_second"] * r["epoch_seconds"] for r in timed)
    seconds = sum(r["epoch_seconds"] for r in timed)
    phases = {p: statistics.mean(r.get("phase_seconds", {}).get(p, 0.0) for r in timed) for p in PHASES}
    return samples / seconds, records[-1]["test_accuracy"], phases, seconds / len(timed)


def median_of(paths, figure):
    values = [figure(p) for p in paths]
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--logs", required=True)
    parser.add_argument("--ranks", required=True)
    parser.add_argument("--tensor", default="", help="rank counts at which Train.dll --strategy tensor ran too")
    parser.add_argument("--cores", type=int, required=True)
    parser.add_argument("--started", default="")
    parser.add_argument("--finished", default="")
    parser.add_argument("--command", default="benchmarks/peers/run-peers.sh")
    parser.add_argument("--write", help="the results file whose section to replace")
    args = parser.parse_args()
    ranks_list = [int(r) for r in args.ranks.split()]
    tensor_list = [int(r) for r in args.tensor.split()]
    rows, ours, tensor, lines = [], {}, {}, []
    # Each ddp row, then tensor's at the same rank count (compared with the same PyTorch DDP run).
    for ranks, strategy in [(r, s) for r in ranks_list for s in (["ddp"] + (["tensor"] if r in tensor_list else []))]:
        torch_paths = sorted(glob.glob(os.path.join(args.logs, f"pytorch-{ranks}-*.json")))
        prefix = "train" if strategy == "ddp" else "train-tensor"
        train_paths = sorted(glob.glob(os.path.join(args.logs, f"{prefix}-{ranks}-*.jsonl")))
        torch_runs = [json.load(open(p)) for p in torch_paths if os.path.getsize(p) > 0]
        train_runs = [train_figures(p) for p in train_paths]
        label = f"{ranks}" if strategy == "ddp" else f"{ranks}, Train.dll --strategy tensor"
        if not torch_runs or not train_runs:
            rows.append(f"| {label} | (no result: see {args.logs}) | | | | | | |")
            continue
        torch_sps = statistics.median(r["samples_per_second"] for r in torch_runs)
        our_sps = statistics.median(r[0] for r in train_runs)
        (ours if strategy == "ddp" else tensor)[ranks] = our_sps
        # The phases of the repeat whose samples/s is the median (or the first of the two middle ones).
        middle = sorted(train_runs, key=lambda r: r[0])[(len(train_runs) - 1) // 2]
        phases = " / ".join(f"{middle[2][p]:.2f}" for p in PHASES)
        ratio = our_sps / torch_sps
        goal = GOALS.get(ranks) if strategy == "ddp" else None
        verdict = "" if goal is None else (f"≥ {goal}x: **met**" if ratio >= goal else f"≥ {goal}x: not met")
        threads = torch_runs[0]["threads"]
        rows.append(f"| {label} | {torch_sps:,.0f} ({ranks} proc × {threads} thread{'s' if threads > 1 else ''}) | {our_sps:,.0f} | "
                    f"**{ratio:.2f}x** | {verdict} | {middle[3]:.2f} s | {phases} | "
                    f"{100 * torch_runs[0]['test_accuracy']:.2f}% / {100 * middle[1]:.2f}% |")
    reference = sorted(glob.glob(os.path.join(args.logs, f"pytorch-1x{args.cores}-*.json")))
    reference_runs = [json.load(open(p)) for p in reference if os.path.getsize(p) > 0]
    if 1 in ours and 2 in ours:
        r = ours[2] / ours[1]
        lines.append(f"- Train.dll ddp 2 ranks / 1 rank on {args.cores} cores: **{r:.2f}x** (goal ≥ 1.6x: {'met' if r >= 1.6 else 'not met'}).")
    if 1 in ours and 2 in tensor:
        r = tensor[2] / ours[1]
        lines.append(f"- Train.dll --strategy tensor 2 ranks / ddp 1 rank on {args.cores} cores: **{r:.2f}x** (goal ≥ 1.6x: {'met' if r >= 1.6 else 'not met'}).")
    if 1 in ours:
        r = ours[1] / FLOP_LIMIT
        lines.append(f"- Train.dll 1 rank / FLOP limit ({FLOP_LIMIT:,} samples/s, the issue's 1.4 MFLOP a sample at 219 GFLOP/s): "
                     f"**{r:.2f}** (goal ≥ 0.6: {'met' if r >= 0.6 else 'not met'}).")
    if reference_runs:
        sps = statistics.median(r["samples_per_second"] for r in reference_runs)
        lines.append(f"- For reference, PyTorch 1 process with {args.cores} threads: {sps:,.0f} samples/s"
                     + (f" (Train.dll 1 rank: {ours[1] / sps:.2f}x)." if 1 in ours else "."))
    torch_version = next((json.load(open(p)).get("torch") for p in glob.glob(os.path.join(args.logs, "pytorch-*.json"))
                          if os.path.getsize(p) > 0), "?")
    section = "\n".join([
        BEGIN,
        HEADING,
        "",
        f"`{args.command}` (one command: installs the PyTorch peer when missing, builds, runs PyTorch and Train.dll",
        "interleaved, writes this section). Same recipe on both sides: MLP 784-256-128-10, Fashion-MNIST standardized,",
        "global batch 128 split over the ranks, SGD 0.05 momentum 0.9 cosine, a warm-up epoch then the timed ones,",
        f"samples/s over the timed epochs (training loop only). PyTorch {torch_version} (Debian python3-torch,",
        "libopenblas0-pthread, OPENBLAS_CORETYPE unset), DDP over gloo for more than one process; Train.dll ddp with",
        "in-process ranks, its kernel threads per rank = cores / ranks; Train.dll --strategy tensor (each rank runs the",
        "whole batch through its share of every layer, docs/tensor-parallel.md) beside it where named. Ratios are from the same run: under load",
        "the absolute figures mean little, the ratios somewhat more.",
        f"Run {args.started} to {args.finished}, {args.cores} cores.",
        "",
        "| ranks | PyTorch samples/s | Train.dll samples/s | Train.dll / PyTorch | goal | Train.dll epoch | Train.dll phases per epoch, s (data / fwd / bwd / wait / opt / other) | test acc PyTorch / Train.dll |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *lines,
        END,
    ])
    print(section)
    if args.write:
        text = open(args.write).read() if os.path.exists(args.write) else ""
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        open(args.write, "w").write(text)
        print(f"written to {args.write}")


if __name__ == "__main__":
    main()
