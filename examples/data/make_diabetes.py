"""Writes diabetes.csv: scikit-learn's diabetes regression data (Efron, Hastie, Johnstone
and Tibshirani, "Least Angle Regression", Annals of Statistics 2004), unscaled, 442 rows:
age, sex, bmi, bp, s1-s6 and the target (disease progression one year after baseline).

Taken from the scikit-learn wheel on PyPI (BSD-3-Clause) without installing it:
    python3 examples/data/make_diabetes.py
"""
import csv
import glob
import gzip
import io
import os
import subprocess
import tempfile
import zipfile

COLUMNS = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

with tempfile.TemporaryDirectory() as folder:
    subprocess.run(["pip", "download", "scikit-learn==1.9.1", "--no-deps", "-q", "-d", folder], check=True)
    wheel = zipfile.ZipFile(glob.glob(os.path.join(folder, "scikit_learn-*.whl"))[0])
    def rows(name):
        text = gzip.decompress(wheel.read("sklearn/datasets/data/" + name)).decode()
        return [line.split() for line in text.strip().splitlines()]
    features = rows("diabetes_data_raw.csv.gz")
    targets = rows("diabetes_target.csv.gz")

assert len(features) == len(targets) == 442
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "diabetes.csv")
with open(out, "w", newline="") as handle:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(COLUMNS + ["target"])
    for feature_row, target_row in zip(features, targets):
        writer.writerow(feature_row + ["%g" % float(target_row[0])])
print("wrote", out)
