#!/usr/bin/env python3
"""The peer of `flock bench train --model lstm`: one training step of the same LSTM in PyTorch.

LSTM of 256 units over 32 steps of one value (the waveforms of examples/sequence-lstm.yaml),
its last hidden state into dense 256->3, batch 32 of synthetic sequences, softmax
cross-entropy, SGD with momentum 0.9, on the CPU with N intra-op threads. Prints samples/s
as the median of 5 trials of 10 steps, after 2 warm-up steps, as flock measures.

    python3 cluster/peers/pytorch_lstm.py --threads 1
"""
import torch

from peer_step import make_step, median_step_seconds, peer_arguments


class LastState(torch.nn.Module):
    """nn.LSTM (batch first) followed by the head on the last step's hidden state."""

    def __init__(self, units, classes):
        super().__init__()
        self.lstm = torch.nn.LSTM(1, units, batch_first=True)
        self.head = torch.nn.Linear(units, classes)

    def forward(self, x):
        _, (hidden, _) = self.lstm(x)
        return self.head(hidden[-1])


def main():
    args = peer_arguments(batch=32, steps=10)
    model = LastState(256, 3)
    features = torch.randn(args.batch, 32, 1)
    labels = torch.randint(0, 3, (args.batch,))
    step = make_step(model, features, labels, autocast_bf16=args.autocast == "bf16")
    seconds = median_step_seconds(step, warmup=2, steps=args.steps, trials=args.trials)
    print(f"pytorch {torch.__version__} threads {args.threads} autocast {args.autocast}: {args.batch / seconds:.0f} samples/s "
          f"({seconds * 1000:.2f} ms/step)")


if __name__ == "__main__":
    main()
