#!/usr/bin/env bash
# Sets everything up, builds Flock (release) and trains the bundled digits example.
set -euo pipefail
cd "$(dirname "$0")/.."
source cluster/setup.sh
swift build -c release $(cluster/swift-cpu-flags.sh)
.build/release/flock train examples/digits-mlp.yaml "$@"
