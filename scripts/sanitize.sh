#!/usr/bin/env bash
# Runs the test suite under a sanitizer, in a build folder of its own (.build-tsan / .build-asan):
#   scripts/sanitize.sh thread [swift test filter...]     ThreadSanitizer (data races)
#   scripts/sanitize.sh address [swift test filter...]    AddressSanitizer (memory errors)
# e.g. scripts/sanitize.sh thread --filter "JWKSServerTests|JWKSCacheTests"
# The first build takes several minutes; the run is slower than a plain one (TSan ~5-15x).
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:?usage: scripts/sanitize.sh thread|address [swift test arguments...]}"
shift
case "$kind" in
    thread) scratch=.build-tsan ;;
    address) scratch=.build-asan ;;
    *) echo "sanitizer must be thread or address" >&2; exit 2 ;;
esac
scripts/install-deps.sh
scripts/python-env.sh
# Reports go to standard error and fail the run: halt_on_error stops at the first, with its stack.
export JWKSD_SANITIZER="$kind"
# The suppressions cover one known false positive of the Swift runtime (see the file).
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$(pwd)/scripts/tsan-suppressions.txt}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1}"
swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\]" || true
swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "$@"
