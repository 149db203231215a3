#!/usr/bin/env bash
# Regenerates Sources/FlockExport/onnx.pb.swift from Sources/FlockExport/onnx.proto, the
# file shipped in the `onnx` pip wheel (site-packages/onnx/onnx.proto; 1.23.2 at the time
# of writing). The generated file is committed so that builds never compile the
# protoc-gen-swift plugin (about ten minutes). Needs protoc (apt: protobuf-compiler) and
# a protoc-gen-swift of the swift-protobuf version in Package.swift, built here under
# /tmp unless PROTOC_GEN_SWIFT names one.
#
#   cluster/generate-onnx-proto.sh                  # the checked-in onnx.proto
#   ONNX_PROTO=/path/to/onnx.proto cluster/generate-onnx-proto.sh   # a newer one
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.39.0
target=Sources/FlockExport
if [ -n "${ONNX_PROTO:-}" ]; then cp "$ONNX_PROTO" "$target/onnx.proto"; fi
command -v protoc >/dev/null || { echo "error: protoc not found (apt-get install -y protobuf-compiler)" >&2; exit 1; }
plugin=${PROTOC_GEN_SWIFT:-/tmp/swift-protobuf-$version/.build/release/protoc-gen-swift}
if [ ! -x "$plugin" ]; then
  source=/tmp/swift-protobuf-$version
  [ -d "$source" ] || git clone -q https://github.com/apple/swift-protobuf.git "$source"
  (cd "$source" && git checkout -q "$version" && nice swift build -c release --product protoc-gen-swift)
fi
protoc --plugin=protoc-gen-swift="$plugin" --proto_path="$target" \
  --swift_opt=Visibility=Internal --swift_out="$target" "$target/onnx.proto"
echo "wrote $target/onnx.pb.swift"
