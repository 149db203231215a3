"""Writes waveforms.csv: 1,500 noisy waveforms of 32 steps, 500 each of sine, square and
sawtooth (label column `shape`), for examples/sequence-lstm.yaml.

Each wave has a random period (6 to 20 steps), phase, amplitude (0.5 to 1.5) and offset
(±0.3), plus Gaussian noise (σ 0.25). Seeded, so the file is the same on every run:
    python3 examples/data/make_waveforms.py
"""
import csv
import math
import os
import random

STEPS, PER_CLASS = 32, 500
rng = random.Random(14)


def wave(kind, phase):
    """One period's value at `phase` in [0, 1)."""
    if kind == "sine":
        return math.sin(2 * math.pi * phase)
    if kind == "square":
        return 1.0 if phase < 0.5 else -1.0
    return 2 * phase - 1  # sawtooth


rows = []
for kind in ("sine", "square", "sawtooth"):
    for _ in range(PER_CLASS):
        period, start = rng.uniform(6, 20), rng.random()
        amplitude, offset = rng.uniform(0.5, 1.5), rng.uniform(-0.3, 0.3)
        values = [offset + amplitude * wave(kind, (start + t / period) % 1) + rng.gauss(0, 0.25) for t in range(STEPS)]
        rows.append([f"{v:.4f}" for v in values] + [kind])
rng.shuffle(rows)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "waveforms.csv")
with open(out, "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow([f"t{t}" for t in range(STEPS)] + ["shape"])
    writer.writerows(rows)
