#!/usr/bin/env bash
# Checks examples/systemd/jwksd.service with systemd-analyze (verify, and the offline security score) when
# systemd-analyze is installed; says so and succeeds when it is not. The unit's ExecStart names the installed
# path, so the check verifies a copy that points at the built binary.
#   scripts/check-systemd-unit.sh [JWKSD_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-$(pwd)/.build/debug/jwksd}"
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze is not installed; examples/systemd/jwksd.service not verified"
    exit 0
fi
work="$(mktemp -d /tmp/jwksd-unit-XXXXXX)"
trap 'rm -rf "$work"' EXIT
sed "s#/usr/local/bin/jwksd#$binary#" examples/systemd/jwksd.service > "$work/jwksd.service"
output="$(systemd-analyze verify "$work/jwksd.service" 2>&1)" || { echo "$output" >&2; exit 1; }
if [ -n "$output" ]; then
    echo "$output" >&2
    echo "systemd-analyze verify reported problems in examples/systemd/jwksd.service" >&2
    exit 1
fi
score="$(systemd-analyze security --offline=yes "$work/jwksd.service" 2>&1 | tail -1)"
echo "examples/systemd/jwksd.service verified; $score"
