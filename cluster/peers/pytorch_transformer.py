#!/usr/bin/env python3
"""The peer of `flock bench train --model transformer`: one training step of the same
Transformer encoder in PyTorch.

Inputs (64, 128) per sample, two pre-norm encoder blocks (nn.TransformerEncoder with
norm_first=True: d_model 128, 4 heads, feed-forward 512, ReLU (the default), dropout 0), mean over the
sequence, dense 128->10, batch 32, softmax cross-entropy, SGD with momentum 0.9, on the
CPU with N intra-op threads. Prints samples/s as the median of 5 trials of 5 steps, after
2 warm-up steps, as flock measures.

    python3 cluster/peers/pytorch_transformer.py --threads 1
"""
import torch

from peer_step import make_step, median_step_seconds, peer_arguments


class Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=512, dropout=0.0,
                                                 activation="relu", batch_first=True, norm_first=True)
        # The fast path (nested tensors) is inference-only; training runs the regular kernels.
        self.encoder = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = torch.nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.encoder(x).mean(dim=1))


def main():
    args = peer_arguments(batch=32, steps=5)
    model = Classifier()
    features = torch.randn(args.batch, 64, 128)
    labels = torch.randint(0, 10, (args.batch,))
    step = make_step(model, features, labels, autocast_bf16=args.autocast == "bf16")
    seconds = median_step_seconds(step, warmup=2, steps=args.steps, trials=args.trials)
    print(f"pytorch {torch.__version__} threads {args.threads} autocast {args.autocast}: {args.batch / seconds:.0f} samples/s "
          f"({seconds * 1000:.2f} ms/step), oneDNN: {torch.backends.mkldnn.is_available()}")


if __name__ == "__main__":
    main()
