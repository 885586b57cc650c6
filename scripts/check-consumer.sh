#!/usr/bin/env bash
# Proves another package can depend on this one by version: clones this repository's HEAD into a temporary
# directory, tags it 99.0.0, builds a tiny consumer package that depends on it with `from: "99.0.0"` and uses
# JWKSClient, and runs one lookup against a daemon started from this checkout's debug build.
#   scripts/check-consumer.sh          (after scripts/test.sh, which builds .build/debug/jwksd)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
jwksd="$root/.build/debug/jwksd"
[ -x "$jwksd" ] || swift build --product jwksd 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\]" || true
work="$(mktemp -d /tmp/jwksd-consumer-XXXXXX)"
daemon=""
cleanup() { [ -n "$daemon" ] && kill "$daemon" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

git clone -q "$root" "$work/jwksd"
git -C "$work/jwksd" tag 99.0.0

mkdir -p "$work/consumer/Sources/Consumer"
cat > "$work/consumer/Package.swift" <<SWIFT
// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "consumer",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "file://$work/jwksd", from: "99.0.0")],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: "JWKSClient", package: "jwksd")])
    ]
)
SWIFT
cat > "$work/consumer/Sources/Consumer/main.swift" <<'SWIFT'
import Foundation
import JWKSClient

let client = JWKSClient(socketPath: CommandLine.arguments[1])
do {
    let reply = try await client.getKey(tenant: "acme", kid: "disk-1")
    print("consumer: \(reply.kid) from \(reply.provider)")
} catch {
    print("consumer: \(error)")
    exit(1)
}
await client.close()
SWIFT

cat > "$work/keys.json" <<'JSON'
{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"disk-1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}
JSON
printf 'version: 1\nserver: { socket: ./jwksd.sock }\ntenants:\n  acme:\n    providers:\n      disk: { file: ./keys.json }\n' \
    > "$work/tenants.yaml"
"$jwksd" serve --config "$work/tenants.yaml" 2> "$work/jwksd.log" &
daemon=$!

swift build --package-path "$work/consumer" 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\]|^(Fetching|Fetched|Computing|Computed|Creating|Working copy)" || true
output="$("$work/consumer/.build/debug/Consumer" "$work/jwksd.sock")"
echo "$output"
[ "$output" = "consumer: disk-1 from disk" ] || { echo "the consumer package's lookup failed" >&2; exit 1; }
