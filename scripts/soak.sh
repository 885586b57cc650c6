#!/usr/bin/env bash
# A soak run: the daemon under a DevIssuer rotation storm, reloads every few seconds, a restart every minute,
# garbage and slow connections, Watch clients that never read and a kid-miss storm, for DURATION (seconds, or
# 30m / 1h). Fails on any failed lookup of a fresh key while the daemon is up, any crash, and RSS or open
# descriptors that grow; the series is written to the work directory's soak.csv (path printed).
#   scripts/soak.sh DURATION [STORM_PROVIDERS]      (JWKSD_BIN=path to use a binary built elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:?usage: scripts/soak.sh DURATION [STORM_PROVIDERS]}"
storm="${2:-200}"
case "$duration" in
    *h) seconds=$(( ${duration%h} * 3600 )) ;;
    *m) seconds=$(( ${duration%m} * 60 )) ;;
    *s) seconds="${duration%s}" ;;
    *) seconds="$duration" ;;
esac
scripts/install-deps.sh
scripts/python-env.sh
if [ -n "${JWKSD_BIN:-}" ]; then
    jwksd="$JWKSD_BIN"  # a binary built elsewhere (a release build, or a copy taken before editing)
else
    swift build --product jwksd 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\]" || true
    jwksd="$(pwd)/.build/debug/jwksd"
fi
work="$(mktemp -d /tmp/jwksd-soak-XXXXXX)"
issuer_pid=""
cleanup() { [ -n "$issuer_pid" ] && kill "$issuer_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
"$jwksd" dev-issuer --issuers "$storm" --port 0 --max-age 10 --rotate-every 10s --background \
    > "$work/issuer.log" 2>&1 &
issuer_pid=$!
for _ in $(seq 100); do grep -q "issuers at http" "$work/issuer.log" && break; sleep 0.1; done
base="$(sed -n 's/.* issuers at \(http:\/\/[^/]*\)\/.*/\1/p' "$work/issuer.log" | head -1)"
[ -n "$base" ] || { cat "$work/issuer.log" >&2; exit 1; }
echo "soak: ${seconds}s, $storm storm providers at $base, work directory $work"
.build-python/bin/python3 scripts/soak.py --duration "$seconds" --work "$work" --jwksd "$jwksd" \
    --issuer "$base" --storm "$storm"
