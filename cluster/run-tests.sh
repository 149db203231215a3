#!/usr/bin/env bash
# Sets everything up, builds Flock and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The report tests open pages in Debian's headless Chromium and read TensorBoard files with
# tensorboard from PyPI (in a venv).
FLOCK_TEST_PACKAGES="chromium python3-venv" source cluster/setup.sh
# One BLAS thread per process: tests start several processes on a 2-core machine.
export OPENBLAS_NUM_THREADS=1
swift build --build-tests
swift test --skip-build "$@"
