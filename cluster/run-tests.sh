#!/usr/bin/env bash
# Sets everything up, builds Flock and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The report tests open pages in Debian's headless Chromium and read TensorBoard files with
# tensorboard from PyPI (in a venv); the ONNX export tests run onnxruntime and onnx from PyPI
# (in .build/onnx-venv); the toolchain tests pip-install mlflow, optuna and optuna-dashboard
# (pinned) into .build/toolchain-venv. The Slurm sweep tests start a one-node Slurm
# (cluster/slurm/local-cluster) from Debian's slurm-wlm and munge.
FLOCK_TEST_PACKAGES="chromium python3-venv slurm-wlm munge" source cluster/setup.sh
# One BLAS thread per process: tests start several processes on a 2-core machine.
export OPENBLAS_NUM_THREADS=1
# The compiler may use this machine's vector units (AVX2 and FMA) for Flock's own loops.
swift build --build-tests $(cluster/swift-cpu-flags.sh)
swift test --skip-build "$@"
