#!/usr/bin/env python3
"""The PyTorch peer of Train.dll's speed benchmark (benchmarks/peers/run-peers.sh).

Same recipe as `Train.dll --epochs 3`: MLP 784-256-128-10 with ReLU, Fashion-MNIST with the pixels standardized by the
training set's mean and deviation, global batch 128 split evenly over the processes (the last partial batch dropped,
468 steps an epoch), SGD lr 0.05 momentum 0.9 with the learning rate of epoch e of E set to lr (1 + cos(pi e / E)) / 2.
One process trains alone; more are DistributedDataParallel with the gloo backend. The first epoch is the warm-up;
samples/s is over the epochs after it (training loop only, as Train.dll counts it). Prints one JSON line.
Data: the idx files of Debian's dataset-fashion-mnist, read with numpy (nothing is downloaded).
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(directory, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    sys.exit(f"pytorch_ddp.py: {stem}(.gz) not found in {directory} (apt-get install dataset-fashion-mnist)")


def load(directory):
    train_x = read_idx(find(directory, "train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32)
    train_y = read_idx(find(directory, "train-labels-idx1-ubyte")).astype(np.int64)
    test_x = read_idx(find(directory, "t10k-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32)
    test_y = read_idx(find(directory, "t10k-labels-idx1-ubyte")).astype(np.int64)
    mean, deviation = float(train_x.mean(dtype=np.float64)), float(train_x.std(dtype=np.float64))
    return (train_x - mean) / deviation, train_y, (test_x - mean) / deviation, test_y


def worker(rank, args, port):
    import torch
    import torch.distributed as dist
    import torch.nn as nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.procs > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=args.procs,
                                timeout=__import__("datetime").timedelta(seconds=args.timeout))
    train_x, train_y, test_x, test_y = load(args.data)
    train_x, train_y = torch.from_numpy(train_x), torch.from_numpy(train_y)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    net = nn.parallel.DistributedDataParallel(model) if args.procs > 1 else model
    optimizer = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    steps = len(train_x) // args.batch
    share = args.batch // args.procs
    if share * args.procs != args.batch:
        sys.exit(f"pytorch_ddp.py: --batch {args.batch} does not split evenly over {args.procs} processes")
    times = []
    for epoch in range(args.epochs):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))
        order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(args.seed * 1_000_003 + epoch))
        if args.procs > 1:
            dist.barrier()
        start = time.perf_counter()
        for step in range(steps):
            index = order[step * args.batch + rank * share: step * args.batch + (rank + 1) * share]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(train_x[index]), train_y[index])
            loss.backward()
            optimizer.step()
        if args.procs > 1:
            dist.barrier()
        times.append(time.perf_counter() - start)
    if rank == 0:
        with torch.no_grad():
            predicted = model(torch.from_numpy(test_x)).argmax(dim=1).numpy()
        timed = times[args.warmup:]
        print(json.dumps({
            "peer": "pytorch", "torch": torch.__version__, "procs": args.procs, "threads": args.threads,
            "epoch_seconds": times, "steps_per_epoch": steps,
            "samples_per_second": steps * args.batch * len(timed) / sum(timed),
            "test_accuracy": float((predicted == test_y).mean()), "final_loss": float(loss.item()),
        }), flush=True)
    if args.procs > 1:
        dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=1, help="processes (1: plain PyTorch; more: DDP over gloo)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process (default: cores / procs, at least 1)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs in all, the warm-up included (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="epochs left out of samples/s (default 1)")
    parser.add_argument("--batch", type=int, default=128, help="global batch (default 128)")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=600, help="seconds a process group waits for its peers")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    if args.procs < 1 or args.epochs <= args.warmup:
        sys.exit("pytorch_ddp.py: --procs must be at least 1 and --epochs more than --warmup")
    if args.threads <= 0:
        args.threads = max(1, (os.cpu_count() or 1) // args.procs)
    if args.procs == 1:
        worker(0, args, 0)
        return
    import socket
    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(args, port), nprocs=args.procs, join=True)


if __name__ == "__main__":
    main()
