#!/usr/bin/env bash
# Runs every test on a fresh machine: install what is missing, lint, build, test (Swift, then the Python client).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/python-env.sh
swift format lint --strict -r Sources Tests examples/swift Fuzz/Sources
swift build --build-tests 2>&1 | tee .build-warnings.log
if grep -E "^$(pwd)/(Sources|Tests)/.*warning:" .build-warnings.log; then
    echo "warnings in our code (above); fix them" >&2
    rm -f .build-warnings.log
    exit 1
fi
rm -f .build-warnings.log
# In parallel: tests wait with bounded polls (eventually), never on a fixed sleep that a loaded machine misses.
swift test --skip-build "$@"
# The Python client package's tests against the daemon just built (clients/python/tests, ~35 s).
scripts/python-tests.sh
