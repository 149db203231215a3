"""How many generated digits a classifier recognizes: reads the JSON lines of
`flock predict CLASSIFIER_RUN --data generated.csv --output F.jsonl --probabilities` and
prints the share labelled with probability >= 0.9 and their classes.
Usage: python3 generated_confidence.py F.jsonl
"""
import collections
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
confident = [row["prediction"] for row in rows if max(row["probabilities"].values()) >= 0.9]
print(f"{len(confident)}/{len(rows)} = {len(confident) / len(rows):.0%} with confidence >= 0.9; "
      f"classes {dict(sorted(collections.Counter(confident).items()))}")
