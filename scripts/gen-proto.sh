#!/usr/bin/env bash
# Regenerates Sources/JWKSWire/Generated/ and the Python client package's clients/python/jwksd/v1/jwksd_pb2.py
# (module jwksd.v1.jwksd_pb2 inside the package) from Protocol/jwksd/v1/jwksd.proto.
# Needs protoc (apt-get install protobuf-compiler); builds protoc-gen-swift from the resolved swift-protobuf.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null 2>&1; then
    echo "protoc is missing: apt-get install protobuf-compiler" >&2
    exit 1
fi
swift build --product protoc-gen-swift
plugin="$(swift build --show-bin-path)/protoc-gen-swift"
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath --swift_opt=UseAccessLevelOnImports=true \
    --swift_out=Sources/JWKSWire/Generated \
    -I Protocol Protocol/jwksd/v1/jwksd.proto
protoc --python_out=clients/python -I Protocol Protocol/jwksd/v1/jwksd.proto
echo "generated Sources/JWKSWire/Generated/jwksd.pb.swift and clients/python/jwksd/v1/jwksd_pb2.py"
