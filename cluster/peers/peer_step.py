"""What the PyTorch peers share: one SGD-with-momentum training step on a fixed synthetic
batch, and its timing as the median of trials after warm-up (as `flock bench` measures)."""
import argparse
import statistics
import time

import torch


def make_step(model, features, labels, autocast_bf16=False):
    """A closure running forward, softmax cross-entropy, backward and SGD (lr 0.01, momentum 0.9);
    with `autocast_bf16`, forward and loss under CPU autocast to bfloat16 (Float32 weights)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_function = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast_bf16):
            loss = loss_function(model(features), labels)
        loss.backward()
        optimizer.step()

    return step


def median_step_seconds(step, warmup, steps, trials, between_trials=lambda: None, combine=lambda seconds: seconds):
    """Seconds per step: the median over `trials` of `steps` steps each, after `warmup` steps.
    `between_trials` runs before each trial (a barrier); `combine` maps a trial's seconds
    (e.g. to the slowest rank's)."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(trials):
        between_trials()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append(combine(time.perf_counter() - start) / steps)
    return statistics.median(times)


def peer_arguments(batch, steps):
    """The peers' command line (--threads, --autocast none|bf16, --batch, --steps, --trials),
    parsed, with PyTorch's intra-op threads and seed set from it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--autocast", choices=["none", "bf16"], default="none",
                        help="bf16: torch.autocast on the CPU (the peer of flock bench train --precision bf16)")
    parser.add_argument("--batch", type=int, default=batch)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(7)
    return args
