"""Splits digits.csv by class for examples/siamese-digits.yaml: digits-0to6.csv (the
classes 0-6 it trains on) and digits-789.csv (classes 7, 8 and 9, never seen in training,
on which nearest_neighbour.py measures the embeddings).
    python3 examples/data/make_digits_heldout.py
"""
import csv
import os

folder = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(folder, "digits.csv"), newline="") as source:
    rows = list(csv.reader(source))
header, body = rows[0], rows[1:]
for name, classes in [("digits-0to6.csv", set("0123456")), ("digits-789.csv", set("789"))]:
    kept = [row for row in body if row[-1] in classes]
    with open(os.path.join(folder, name), "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(kept)
    print("wrote", name, len(kept), "rows")
