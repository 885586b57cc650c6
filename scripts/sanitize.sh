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
# A report fails the run: halt_on_error stops at the first, with its stack.
export JWKSD_SANITIZER="$kind"
# The suppressions cover known false positives of the Swift runtime (see the file).
# Reports are written to files (log_path) and printed at the end, demangled, with a condensed copy last: a CI
# log that keeps only its tail then still shows the racing accesses and the tests that were running.
reports="$scratch/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$(pwd)/scripts/tsan-suppressions.txt}:log_path=$(pwd)/$reports/report"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1}:log_path=$(pwd)/$reports/report"
swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\]" || true
status=0
swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "$@" 2>&1 | tee "$reports/test.log" || status=$?
if compgen -G "$reports/report.*" > /dev/null; then
    scripts/sanitizer-report.sh "$reports/test.log" "$reports"/report.*
    exit 1
fi
exit "$status"
