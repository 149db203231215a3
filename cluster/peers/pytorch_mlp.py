#!/usr/bin/env python3
"""The peer of `flock bench train`: one training step of the same MLP in PyTorch.

784-512-512-10 with ReLU, batch 128 of synthetic data, softmax cross-entropy, SGD with
momentum 0.9, on the CPU with N intra-op threads. Prints samples/s as the median of
5 trials of 60 steps, after 5 warm-up steps, as `flock bench train` measures.

    python3 cluster/peers/pytorch_mlp.py --threads 1
"""
import torch

from peer_step import make_step, median_step_seconds, peer_arguments


def main():
    args = peer_arguments(batch=128, steps=60)
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
