#!/usr/bin/env python3
"""The peer of `flock bench train`: one training step of the same MLP in PyTorch.

784-512-512-10 with ReLU, batch 128 of synthetic data, softmax cross-entropy, SGD with
momentum 0.9, on the CPU with N intra-op threads. Prints samples/s as the median of
5 trials of 60 steps, after 5 warm-up steps, as `flock bench train` measures.

    python3 cluster/peers/pytorch_mlp.py --threads 1
"""
import argparse
import torch

from peer_step import make_step, median_step_seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--autocast", choices=["none", "bf16"], default="none",
                        help="bf16: torch.autocast on the CPU (the peer of flock bench train --precision bf16)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(7)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 10))
    features = torch.randn(args.batch, 784)
    labels = torch.randint(0, 10, (args.batch,))
    step = make_step(model, features, labels, autocast_bf16=args.autocast == "bf16")
    seconds = median_step_seconds(step, warmup=5, steps=args.steps, trials=args.trials)
    print(f"pytorch {torch.__version__} threads {args.threads} autocast {args.autocast}: {args.batch / seconds:.0f} samples/s "
          f"({seconds * 1000:.2f} ms/step), BLAS: {torch.backends.mkldnn.is_available() and 'oneDNN/MKL' or 'other'}")


if __name__ == "__main__":
    main()
