"""Writes digits-378.csv: the rows of digits.csv whose digit is 3, 7 or 8, with the label
written as a name ("three", "seven", "eight") — the data of examples/digits-finetune.yaml.
    python3 examples/data/make_digits_subset.py
"""
import csv
import os

NAMES = {"3": "three", "7": "seven", "8": "eight"}
folder = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(folder, "digits.csv"), newline="") as source:
    rows = list(csv.reader(source))
header, body = rows[0], rows[1:]
with open(os.path.join(folder, "digits-378.csv"), "w", newline="") as out:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    kept = [row[:-1] + [NAMES[row[-1]]] for row in body if row[-1] in NAMES]
    writer.writerows(kept)
print("wrote", len(kept), "rows")
