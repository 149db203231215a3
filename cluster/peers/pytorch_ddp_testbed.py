#!/usr/bin/env python3
"""The peer of `flock bench ddp` on the test bed: the same MLP step in PyTorch DDP over gloo,
one process per rank, started by the test bed's mpirun inside the host namespaces.

784-512-512-10 with ReLU, batch 128 per rank of synthetic data, SGD with momentum 0.9, one
intra-op thread per rank (as `flock bench ddp`). Interleaved pairs as Flock measures them:
rank 0 steps alone (the others wait), then every rank steps under DDP; efficiency =
throughput(N) / (N · throughput(1)) per pair, reported as the median with min–max.
`--compression bf16|fp16` registers DDP's own compress hook (bf16_compress_hook /
fp16_compress_hook: gradients cast to 16 bits for gloo's allreduce, no error feedback).

    cluster/testbed run --hosts 2 --ranks-per-host 2 --link 1gbit -- \\
        /path/to/venv/bin/python cluster/peers/pytorch_ddp_testbed.py [--compression bf16]

The rank comes from OpenMPI's OMPI_COMM_WORLD_RANK/SIZE; the rendezvous is rank 0's host,
whose data address is its own host's with the last number 10 (the test bed's 10.77.X.10);
gloo uses the data interface eth0, so the shaped link carries the gradients.
"""
import argparse
import os
import statistics
import subprocess
import time

import torch
import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

from peer_step import make_step


def first_host_address():
    """10.77.X.10: this host's eth0 address with the last number of host 0."""
    line = subprocess.check_output(["ip", "-4", "-o", "addr", "show", "eth0"], text=True)
    address = line.split()[3].split("/")[0]
    return ".".join(address.split(".")[:3] + ["10"])


def seconds_per_step(step, steps):
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--pairs", type=int, default=11)
    parser.add_argument("--compression", choices=["none", "bf16", "fp16"], default="none")
    args = parser.parse_args()
    rank, ranks = int(os.environ["OMPI_COMM_WORLD_RANK"]), int(os.environ["OMPI_COMM_WORLD_SIZE"])
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "eth0")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://{first_host_address()}:29500", rank=rank, world_size=ranks)

    def mlp():
        torch.manual_seed(7)
        return torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(),
                                   torch.nn.Linear(512, 10))

    torch.manual_seed(7 + rank)
    features, labels = torch.randn(128, 784), torch.randint(0, 10, (128,))
    alone = make_step(mlp(), features, labels)
    ddp = torch.nn.parallel.DistributedDataParallel(mlp())
    if args.compression != "none":
        hook = default_hooks.bf16_compress_hook if args.compression == "bf16" else default_hooks.fp16_compress_hook
        ddp.register_comm_hook(dist.group.WORLD, hook)
    parallel = make_step(ddp, features, labels)

    def slowest(seconds):
        elapsed = torch.tensor([seconds])
        dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
        return elapsed.item()

    for _ in range(5):
        parallel()
    if rank == 0:
        for _ in range(3):
            alone()
    efficiencies, single_steps, parallel_steps = [], [], []
    for _ in range(args.pairs):
        dist.barrier()
        single = torch.tensor([seconds_per_step(alone, args.steps) if rank == 0 else 0.0])
        dist.broadcast(single, src=0)
        dist.barrier()
        step = slowest(seconds_per_step(parallel, args.steps))
        single_steps.append(single.item())
        parallel_steps.append(step)
        efficiencies.append(single.item() / step)
    if rank == 0:
        print(f"pytorch {torch.__version__} DDP gloo, {ranks} ranks x 1 thread, compression {args.compression}, "
              f"{os.environ.get('FLOCK_TESTBED_HOSTS', '?')} hosts")
        print(f"one rank:   {128 / statistics.median(single_steps):9.0f} samples/s")
        print(f"{ranks:2d} ranks:   {128 * ranks / statistics.median(parallel_steps):9.0f} samples/s "
              f"({statistics.median(parallel_steps) * 1000:.1f} ms/step)")
        print(f"efficiency: {statistics.median(efficiencies):.2f} ({min(efficiencies):.2f}–{max(efficiencies):.2f}) "
              f"(median of {args.pairs} interleaved pairs, min–max)")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
