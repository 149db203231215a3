"""Writes digits-noisy.csv: digits.csv with 40 % of the labels replaced by another digit at
random (seed 7) — the data of the distillation example (examples/distill-*.yaml), where a
student that copies a teacher's softened predictions learns past the noise a student
alone memorizes.
    python3 examples/data/make_digits_noisy.py
"""
import csv
import os
import random

folder = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(folder, "digits.csv"), newline="") as source:
    rows = list(csv.reader(source))
header, body = rows[0], rows[1:]
label = header.index("label")
generator = random.Random(7)
flipped = 0
for row in body:
    if generator.random() < 0.4:
        row[label] = str(generator.choice([c for c in range(10) if c != int(row[label])]))
        flipped += 1
with open(os.path.join(folder, "digits-noisy.csv"), "w", newline="") as out:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
print("wrote", len(body), "rows,", flipped, "labels replaced")
