#!/usr/bin/env python3
"""The peer of `mpirun -np N flock bench ddp`: the same MLP step in PyTorch DDP over gloo.

784-512-512-10 with ReLU, batch 128 per rank of synthetic data, SGD with momentum 0.9,
one intra-op thread per rank, N processes on this machine (loopback only). Prints the
job's samples/s (all ranks) as the median of 5 trials of 40 steps.

    python3 cluster/peers/pytorch_ddp.py --ranks 2
"""
import argparse
import os
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from peer_step import make_step, median_step_seconds


def worker(rank, ranks, steps, trials, port, results):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=ranks)
    torch.manual_seed(7 + rank)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 10))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    features = torch.randn(128, 784)
    labels = torch.randint(0, 10, (128,))

    def slowest_rank(seconds):
        elapsed = torch.tensor([seconds])
        dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
        return elapsed.item()

    seconds = median_step_seconds(make_step(ddp, features, labels), warmup=5, steps=steps, trials=trials,
                                  between_trials=dist.barrier, combine=slowest_rank)
    if rank == 0:
        results.put(seconds)
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--port", type=int, default=29511)
    args = parser.parse_args()
    context = mp.get_context("spawn")
    results = context.Queue()
    mp.spawn(worker, args=(args.ranks, args.steps, args.trials, args.port, results), nprocs=args.ranks, join=True)
    seconds = results.get()
    print(f"pytorch {torch.__version__} DDP gloo, {args.ranks} ranks x 1 thread: "
          f"{128 * args.ranks / seconds:.0f} samples/s ({seconds * 1000:.2f} ms/step)")


if __name__ == "__main__":
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    main()
