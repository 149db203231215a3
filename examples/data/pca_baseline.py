"""PCA beside examples/autoencoder-digits.yaml: the same reconstruction error at the same
code size.

Splits digits.csv 80/20 (numpy seed 0) into OUT/train.csv and OUT/val.csv, then fits PCA
on train (pixels standardized with train's statistics; constant columns only centred, as
Flock's `normalization: standard` does) and prints the mean squared error per
standardized pixel on val for codes of 8 and 16 values. Train the autoencoder on
OUT/train.csv and measure it on OUT/val.csv with `flock predict` (README, "Models of any
shape"). Usage: python3 pca_baseline.py [OUT]   (default /tmp/digits-split)
"""
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/digits-split"
os.makedirs(out, exist_ok=True)
lines = open(os.path.join(here, "digits.csv")).read().splitlines()
header, rows = lines[0], lines[1:]
order = np.random.default_rng(0).permutation(len(rows))
cut = int(len(rows) * 0.8)
for name, part in (("train", order[:cut]), ("val", order[cut:])):
    with open(os.path.join(out, f"{name}.csv"), "w") as f:
        f.write("\n".join([header] + [rows[i] for i in part]) + "\n")
pixels = np.array([[float(v) for v in row.split(",")[:64]] for row in rows])
train, val = pixels[order[:cut]], pixels[order[cut:]]
mean, std = train.mean(0), train.std(0)
std[std == 0] = 1
t, v = (train - mean) / std, (val - mean) / std
_, _, components = np.linalg.svd(t - t.mean(0), full_matrices=False)
for k in (8, 16):
    basis = components[:k]
    print(f"PCA, code of {k}: val MSE {(((v @ basis.T) @ basis - v) ** 2).mean():.4f}")
