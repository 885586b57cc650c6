#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer. Builds Fuzz/ (every Swift module with -sanitize=fuzzer,address) into
# .build-fuzz once, then runs one target for SECONDS from its committed seeds (Fuzz/Corpus/TARGET) plus what
# earlier runs found (.build-fuzz/corpus/TARGET). A crash, a broken property or a hang leaves the input in
# .build-fuzz/crashes/TARGET and fails the script; make it a regression test (see Fuzz/README.md).
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#   scripts/fuzz.sh all SECONDS            every target in turn (CI's smoke run)
# Targets: frame connection request yaml jwks headers snapshot jws http
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags...]}"
seconds="${2:?usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags...]}"
shift 2
extra=("$@")
targets=(frame connection request yaml jwks headers snapshot jws http)
scripts/install-deps.sh
swift build --package-path Fuzz --scratch-path .build-fuzz -c debug \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 \
    | grep -Ev "^\[[0-9]+/[0-9]+\]|Cannot export local symbol '__asan" || true
binary=.build-fuzz/debug/JWKSDFuzz
[ -x "$binary" ] || { echo "the fuzz build failed (run it without the filter to see why)" >&2; exit 1; }

run() {
    local name="$1"
    mkdir -p ".build-fuzz/corpus/$name" ".build-fuzz/crashes/$name"
    local max_len=4096
    case "$name" in jwks|yaml|snapshot) max_len=65536 ;; esac
    echo "== fuzz $name for ${seconds}s"
    JWKSD_FUZZ_TARGET="$name" ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" "$binary" \
        ".build-fuzz/corpus/$name" "Fuzz/Corpus/$name" \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix=".build-fuzz/crashes/$name/" ${extra[@]+"${extra[@]}"}
}

if [ "$target" = all ]; then
    for name in "${targets[@]}"; do run "$name"; done
else
    run "$target"
fi
