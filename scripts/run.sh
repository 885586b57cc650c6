#!/usr/bin/env bash
# The daemon's main job on a fresh machine: install what is missing, build, and run jwksd.
# Until the server lands this validates the example registry: jwksd check examples/tenants.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --product jwksd
.build/debug/jwksd check --config examples/tenants.yaml "$@"
