"""How often a token's nearest neighbour by cosine is a token of its own group, for the
token vectors of examples/skipgram-tokens.yaml (the rows of center.0.weight; groups of 5
consecutive ids, as make_skipgram.py writes them). Chance: 4 of the 39 others, 0.10.
Usage: python3 skipgram_neighbours.py RUN/model.safetensors [--per-group 5]
"""
import json
import math
import struct
import sys


def tensor(path, name):
    """One float32 tensor of a safetensors file: its rows as lists."""
    with open(path, "rb") as handle:
        size = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(size))
        entry = header[name]
        start, end = entry["data_offsets"]
        handle.seek(8 + size + start)
        values = struct.unpack(f"<{(end - start) // 4}f", handle.read(end - start))
    rows, width = entry["shape"]
    return [list(values[r * width:(r + 1) * width]) for r in range(rows)]


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / (math.sqrt(sum(x * x for x in a) * sum(y * y for y in b)) or 1)


per_group = int(sys.argv[sys.argv.index("--per-group") + 1]) if "--per-group" in sys.argv else 5
vectors = tensor(sys.argv[1], "center.0.weight")
hits = 0
for token, vector in enumerate(vectors):
    neighbour = max((other for other in range(len(vectors)) if other != token),
                    key=lambda other: cosine(vector, vectors[other]))
    hits += neighbour // per_group == token // per_group
print(f"{hits}/{len(vectors)} = {hits / len(vectors):.3f} of tokens have a nearest neighbour (cosine) in their own group")
