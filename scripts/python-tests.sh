#!/usr/bin/env bash
# Runs the Python client's tests (clients/python/tests, pytest from .build-python) against a live jwksd, the
# binary $JWKSD_BIN (default .build/debug/jwksd: build it first). Arguments go to pytest (e.g. -k cache, -x).
# The test that installs the package into a fresh venv needs PyPI; JWKSD_TESTS_OFFLINE=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/python-env.sh
export JWKSD_BIN="${JWKSD_BIN:-$(pwd)/.build/debug/jwksd}"
if [ ! -x "$JWKSD_BIN" ]; then
    echo "no jwksd binary at $JWKSD_BIN: build it (swift build) or set JWKSD_BIN" >&2
    exit 1
fi
# No __pycache__ or .pytest_cache left in the work tree.
export PYTHONDONTWRITEBYTECODE=1
exec .build-python/bin/python3 -m pytest -p no:cacheprovider -q --durations=5 clients/python/tests "$@"
