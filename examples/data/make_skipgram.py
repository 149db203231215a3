"""Writes skipgram-pairs.csv: skip-gram training pairs with negative sampling for
examples/skipgram-tokens.yaml.

Tokens 0..39 fall in 8 groups of 5 (group = token // 5). 200 sequences of 16 tokens walk
the groups as a Markov chain (group g is followed by group g+1 or g+3, mod 8, with equal
odds) and draw each token uniformly within its group, so the 5 tokens of a group occur in
exactly the same contexts: a skip-gram model should place them next to each other.

For every position, each token within 2 steps is a positive pair (center, context, 1), and
each positive brings 3 negative pairs (center, random token, 0), the random token drawn
from the unigram counts to the power 0.75 (Mikolov et al. 2013). Seeded:
    python3 examples/data/make_skipgram.py
"""
import csv
import os
import random

GROUPS, PER_GROUP, SEQUENCES, STEPS, WINDOW, NEGATIVES = 8, 5, 200, 16, 2, 3
rng = random.Random(29)


def sequence():
    group = rng.randrange(GROUPS)
    tokens = []
    for _ in range(STEPS):
        tokens.append(group * PER_GROUP + rng.randrange(PER_GROUP))
        group = (group + rng.choice([1, 3])) % GROUPS
    return tokens


sequences = [sequence() for _ in range(SEQUENCES)]
counts = [0] * (GROUPS * PER_GROUP)
for tokens in sequences:
    for token in tokens:
        counts[token] += 1
weights = [count ** 0.75 for count in counts]

rows = []
for tokens in sequences:
    for i, center in enumerate(tokens):
        for j in range(max(0, i - WINDOW), min(STEPS, i + WINDOW + 1)):
            if j == i:
                continue
            rows.append((center, tokens[j], 1))
            for negative in rng.choices(range(len(counts)), weights=weights, k=NEGATIVES):
                rows.append((center, negative, 0))
rng.shuffle(rows)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "skipgram-pairs.csv")
with open(out, "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(["center", "context", "label"])
    writer.writerows(rows)
