#!/usr/bin/env bash
# The daemon's main job on a fresh machine: install what is missing, build, and run `jwksd demo`
# (a DevIssuer plus the daemon on a temporary socket with examples/demo.yaml; a guided tour, then it serves
# until Ctrl-C and prints how to query it from another shell). Arguments go to `jwksd demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --product jwksd
exec .build/debug/jwksd demo "$@"
