"""Writes token-order.csv: 3,000 sequences of 16 token ids (vocabulary 12) for
examples/transformer-tiny.yaml. Every sequence holds token 1 ("A") once and token 2 ("B")
once at random positions, the other 14 positions random tokens from 3..11; the label is 1
when A comes before B, else 0.

Order is all there is to learn: both labels draw the same multiset of tokens, so a model
that sees only which tokens occur (a bag of tokens) is at chance, 0.5. Seeded:
    python3 examples/data/make_token_order.py
"""
import csv
import os
import random

STEPS, VOCABULARY, COUNT = 16, 12, 3000
rng = random.Random(14)

rows = []
for _ in range(COUNT):
    tokens = [rng.randrange(3, VOCABULARY) for _ in range(STEPS)]
    a, b = rng.sample(range(STEPS), 2)
    tokens[a], tokens[b] = 1, 2
    rows.append(tokens + [1 if a < b else 0])

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "token-order.csv")
with open(out, "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow([f"x{t}" for t in range(STEPS)] + ["a_before_b"])
    writer.writerows(rows)
