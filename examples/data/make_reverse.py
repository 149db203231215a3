"""Writes reverse.csv (4,000 rows) and reverse-test.csv (500 held-out rows) for
examples/seq2seq-reverse.yaml: digit strings of 3 to 8 digits and their reversal.

Token ids: 0 padding, 1 start, 2 end, 3 + d for digit d (vocabulary 13). Each row holds
three sequences of 9 ids (the longest string and its end token):
    s0..s8  the digits, padding after them
    d0..d8  the decoder's input: start, then the reversed digits (teacher forcing)
    t0..t8  the target: the reversed digits, then end, padding after
and the label column `length` (the number of digits; the loss does not read it).
Seeded:
    python3 examples/data/make_reverse.py
"""
import csv
import os
import random

STEPS, PAD, START, END = 9, 0, 1, 2


def row(rng):
    digits = [3 + rng.randrange(10) for _ in range(rng.randint(3, 8))]
    reversed_digits = digits[::-1]
    source = digits + [PAD] * (STEPS - len(digits))
    target = reversed_digits + [END] + [PAD] * (STEPS - len(digits) - 1)
    decoder_in = ([START] + reversed_digits + [PAD] * STEPS)[:STEPS]
    return source + decoder_in + target + [len(digits)]


def write(name, count, seed):
    rng = random.Random(seed)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([f"{p}{t}" for p in "sdt" for t in range(STEPS)] + ["length"])
        writer.writerows(row(rng) for _ in range(count))


write("reverse.csv", 4000, 29)
write("reverse-test.csv", 500, 2029)
