"""Runs an exported Flock model in ONNX Runtime on a CSV file's raw rows.

usage: onnx_predict.py MODEL.onnx DATA.csv

Checks the model with onnx.checker (full_check: shapes inferred too), reads the feature
columns the model's metadata names from the CSV by name (an empty cell is NaN), and
prints JSON: the first output's rows, the metadata, the IR and opset versions, the
input's and output's names and the initializers' element types.
"""
import csv
import json
import math
import sys

import numpy as np
import onnx
import onnxruntime

model_path, csv_path = sys.argv[1], sys.argv[2]
model = onnx.load(model_path)
onnx.checker.check_model(model, full_check=True)
metadata = {entry.key: entry.value for entry in model.metadata_props}
columns = json.loads(metadata["feature_columns"])
with open(csv_path, newline="") as handle:
    rows = list(csv.DictReader(handle))
features = np.array([[float(row[c]) if row[c].strip() else math.nan for c in columns] for row in rows], dtype=np.float32)
session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
outputs = session.run(None, {session.get_inputs()[0].name: features})
print(json.dumps({
    # NaN (a missing cell let through) as null: JSON has no NaN.
    "outputs": [[None if math.isnan(v) else v for v in row] for row in outputs[0].reshape(len(features), -1).tolist()],
    "metadata": metadata,
    "ir_version": model.ir_version,
    "opsets": [entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")],
    "input": session.get_inputs()[0].name,
    "output": session.get_outputs()[0].name,
    "initializer_types": sorted({onnx.TensorProto.DataType.Name(t.data_type) for t in model.graph.initializer}),
    "onnxruntime": onnxruntime.__version__,
}))
