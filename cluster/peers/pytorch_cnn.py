#!/usr/bin/env python3
"""The peer of `flock bench train --model cnn`: one training step of the same CNN in PyTorch.

conv 1->16 3x3 SAME + ReLU, max-pool 2, conv 16->32 3x3 SAME + ReLU, max-pool 2,
dense 1568->128 + ReLU, dense 128->10 on 1x28x28 synthetic inputs, batch 128, softmax
cross-entropy, SGD with momentum 0.9, on the CPU with N intra-op threads. Prints samples/s
as the median of 5 trials of 20 steps, after 3 warm-up steps, as flock measures.

    python3 cluster/peers/pytorch_cnn.py --threads 1
"""
import torch

from peer_step import make_step, median_step_seconds, peer_arguments


def main():
    args = peer_arguments(batch=128, steps=20)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(1568, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    features = torch.randn(args.batch, 1, 28, 28)
    labels = torch.randint(0, 10, (args.batch,))
    step = make_step(model, features, labels, autocast_bf16=args.autocast == "bf16")
    seconds = median_step_seconds(step, warmup=3, steps=args.steps, trials=args.trials)
    print(f"pytorch {torch.__version__} threads {args.threads} autocast {args.autocast}: {args.batch / seconds:.0f} samples/s "
          f"({seconds * 1000:.2f} ms/step), oneDNN: {torch.backends.mkldnn.is_available()}")


if __name__ == "__main__":
    main()
