"""Nearest-neighbour accuracy of embeddings: reads the JSON lines of
`flock predict RUN --data digits-789.csv --output E.jsonl` (one embedding per row) and the
labels of that CSV, and prints the share of rows whose nearest other row (euclidean) has
the same label — leave-one-out 1-NN — beside the same on the raw pixels.
Usage: python3 nearest_neighbour.py E.jsonl digits-789.csv
"""
import csv
import json
import sys

import numpy as np


def one_nn_accuracy(points, labels):
    squared = (points * points).sum(axis=1)
    distances = squared[:, None] + squared[None, :] - 2 * points @ points.T
    np.fill_diagonal(distances, np.inf)
    return float((labels[distances.argmin(axis=1)] == labels).mean())


rows = [json.loads(line) for line in open(sys.argv[1])]
embeddings = np.array([[float(v) for v in row["prediction"].split()] for row in rows])
with open(sys.argv[2], newline="") as source:
    table = list(csv.reader(source))[1:]
labels = np.array([row[-1] for row in table])
pixels = np.array([[float(v) for v in row[:-1]] for row in table])
classes = " ".join(sorted(set(labels)))
print(f"{len(labels)} rows, classes {classes}: 1-NN accuracy {one_nn_accuracy(embeddings, labels):.4f} "
      f"on the embeddings, {one_nn_accuracy(pixels, labels):.4f} on the pixels")
