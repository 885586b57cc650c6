#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md on this machine (release build; daemon, DevIssuer, Redis and the
# bench on the same host). Takes ~8 minutes after the build. Needs redis-server/redis-benchmark for the
# comparison (apt-get install redis-server); skips that part when they are missing.
#   scripts/bench-report.sh [SECONDS_PER_RUN] [all|lookups|redis|scale|storm]
# STORM_RUNS (default 3): runs per phase and connection count in the storm section.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
section="${2:-all}"
storm_runs="${STORM_RUNS:-3}"
want() { [ "$section" = all ] || [ "$section" = "$1" ]; }
scripts/install-deps.sh
swift build -c release --scratch-path .build-release --product jwksd
jwksd="$(pwd)/.build-release/release/jwksd"
work="$(mktemp -d /tmp/jwksd-bench-XXXXXX)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export JWKSD_SOCKET="$work/jwksd.sock"
fixtures="$(pwd)/Tests/JWKSTests/Fixtures"

wait_healthy() { for _ in $(seq 1 600); do "$jwksd" health >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "daemon not healthy" >&2; return 1; }
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# The stable provider (a key file) measured beside the 10,000, and the refresh count from the metrics endpoint.
stable=(--tenant stable --provider google --kid 49900291d36cec8c018f2e8af3ef235b8b18d3c9)
refreshes() { curl -s http://127.0.0.1:19464/metrics | awk '/^jwksd_refreshes_total/ { sum += $2 } END { print sum + 0 }'; }

echo "# jwksd bench report: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r)"
if want lookups; then
echo "## Lookups (3 DevIssuer providers + two file providers)"
"$jwksd" dev-issuer --issuers 3 --port 0 --keys p256,ed25519 --write-config "$work/small.yaml" \
    --socket "$work/jwksd.sock" >"$work/issuer.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/small.yaml" ] && break; sleep 0.1; done
cat >>"$work/small.yaml" <<YAML
  sets:
    providers:
      microsoft: { file: "$(pwd)/Tests/JWKSServerTests/Fixtures/microsoft-jwks.json" }
      google: { file: "$fixtures/google-jwks-v3-2026-08-12.json" }
YAML
sed -i 's/^server:$/server:\n  compress_min_bytes: 4096/' "$work/small.yaml"
"$jwksd" serve --config "$work/small.yaml" --log-level error &
daemon=$!
pids+=($daemon)
wait_healthy
key=(--tenant t0 --provider p0 --kid p0-0)
echo "### GetKey, one connection, with the floor"
"$jwksd" bench "${key[@]}" --duration "${seconds}s" --floor
echo "### GetKey, 16 connections"
"$jwksd" bench "${key[@]}" --duration "${seconds}s" --connections 16
echo "### GetKey, 16 connections x pipeline 16"
"$jwksd" bench "${key[@]}" --duration "${seconds}s" --connections 16 --pipeline 16
echo "### GetKeySet: Microsoft 15 KB compressed vs Google 2 KB plain, one connection"
"$jwksd" bench --method get-key-set --tenant sets --provider microsoft --compressed --duration "${seconds}s"
"$jwksd" bench --method get-key-set --tenant sets --provider google --duration "${seconds}s"
echo "daemon RSS: $(rss_mb "$daemon") MB"
kill "$daemon"; wait "$daemon" 2>/dev/null || true
fi

if want redis && command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
    echo "## Redis $(redis-server --version | awk '{print $3}') GET of a 2 KB value over a Unix socket"
    redis-server --port 0 --unixsocket "$work/redis.sock" --save "" --appendonly no --daemonize no \
        >"$work/redis.log" 2>&1 &
    pids+=($!)
    sleep 0.5
    requests=$((seconds * 30000))
    echo "(CSV: test, requests/s, avg, min, p50, p95, p99, max latency in ms)"
    for args in "-c 1" "-c 16" "-c 16 -P 16"; do
        echo "### redis-benchmark -t get -d 2048 $args"
        # shellcheck disable=SC2086
        redis-benchmark -s "$work/redis.sock" -t get -d 2048 -n "$requests" $args --csv | tail -n 1
    done
fi

if want scale; then
echo "## 10,000 providers served by a DevIssuer"
"$jwksd" dev-issuer --issuers 10000 --port 0 --keys p256 --max-age 600 --write-config "$work/10k.yaml" \
    --socket "$work/jwksd.sock" >"$work/issuer10k.log" 2>&1 &
issuer=$!
pids+=($issuer)
for _ in $(seq 1 300); do [ -s "$work/10k.yaml" ] && break; sleep 0.1; done
# One stable provider (a key file) to measure lookups while the 10,000 others refresh, and the metrics endpoint.
sed -i 's/^server:$/server:\n  metrics: "127.0.0.1:19464"/' "$work/10k.yaml"
cat >>"$work/10k.yaml" <<YAML
  stable:
    providers:
      google: { file: "$fixtures/google-jwks-v3-2026-08-12.json" }
YAML
start=$(date +%s.%N)
"$jwksd" serve --config "$work/10k.yaml" --log-level error &
daemon=$!
pids+=($daemon)
wait_healthy
loaded=$(echo "$(date +%s.%N) - $start" | bc)
echo "all 10,001 providers loaded (health serving) after ${loaded}s; daemon RSS $(rss_mb "$daemon") MB"
echo "### quiet: GetKey over all 10,000 kids, 16 connections"
"$jwksd" bench --mix all --duration "${seconds}s" --connections 16
echo "### quiet: one stable key, one connection, then 16 connections"
"$jwksd" bench "${stable[@]}" --duration "${seconds}s"
"$jwksd" bench "${stable[@]}" --duration "${seconds}s" --connections 16
echo "### reload of the 10,000-provider file (100 providers changed) while bench runs"
"$jwksd" bench --mix all --duration "$((seconds + 5))s" --connections 16 >"$work/reload-bench.txt" &
bench=$!
sleep 3
sed -i 's|/p\([0-9]*\)00/jwks|/p\100/jwks?v=2|' "$work/10k.yaml"
before=$(date +%s.%N)
"$jwksd" reload
echo "reload RPC answered after $(echo "$(date +%s.%N) - $before" | bc)s"
wait "$bench"
cat "$work/reload-bench.txt"
echo "daemon RSS after reload: $(rss_mb "$daemon") MB"

kill "$daemon" "$issuer"; wait "$daemon" "$issuer" 2>/dev/null || true
fi

if want storm; then
echo "## Rotation storm: 10,000 providers whose issuers all rotate every 10 s with max-age 10"
storm_config() {
    sed -i 's/^server:$/server:\n  metrics: "127.0.0.1:19464"/' "$work/storm.yaml"
    cat >>"$work/storm.yaml" <<YAML
  stable:
    providers:
      google: { file: "$fixtures/google-jwks-v3-2026-08-12.json" }
YAML
}
# Three runs per connection count and phase; each run's p99 is printed, and the median goes to a file. Single
# 10 s runs minutes apart differ by up to 2x on this shared machine; the ratio compares the medians.
p99_runs() {
    local connections=$1 phase=$2 p99s=()
    for run in $(seq 1 "$storm_runs"); do
        "$jwksd" bench "${stable[@]}" --duration "${seconds}s" --connections "$connections" --json >"$work/run.json"
        p99s+=("$(sed -E 's/.*"p99":([0-9.]+).*/\1/' "$work/run.json")")
        echo "$phase, $connections connection(s), run $run: $(cat "$work/run.json")"
    done
    printf '%s\n' "${p99s[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' \
        >"$work/p99-$connections-$phase"
    echo "$phase, $connections connection(s): median p99 $(cat "$work/p99-$connections-$phase") us"
}
"$jwksd" dev-issuer --issuers 10000 --port 0 --keys p256 --max-age 600 --write-config "$work/storm.yaml" \
    --socket "$work/jwksd.sock" >"$work/issuer-quiet.log" 2>&1 &
issuer=$!
pids+=($issuer)
for _ in $(seq 1 300); do [ -s "$work/storm.yaml" ] && break; sleep 0.1; done
storm_config
"$jwksd" serve --config "$work/storm.yaml" --log-level error &
daemon=$!
pids+=($daemon)
wait_healthy
echo "### quiet (max-age 600: no refresh runs): one stable key, one connection, then 16 connections"
first=$(refreshes)
p99_runs 1 quiet
p99_runs 16 quiet
echo "refreshes during the quiet runs: $(($(refreshes) - first))"
kill "$daemon" "$issuer"; wait "$daemon" "$issuer" 2>/dev/null || true
port=$(awk -F'http://127.0.0.1:' 'NF > 1 { split($2, part, "/"); print part[1]; exit }' "$work/storm.yaml")
# The issuer stands in for remote identity providers: with --background its threads run at nice 19 in 0.1 ms
# time slices, so it gets the CPU the daemon and the bench leave and gives a core back at once (serving ~1,500
# requests/s and making 1,000 P-256 keys a second takes a fifth of a core here).
"$jwksd" dev-issuer --issuers 10000 --port "$port" --keys p256 --max-age 10 --rotate-every 10s --background \
    >"$work/issuer-storm.log" 2>&1 &
pids+=($!)
# Generating 10,000 keys takes a few seconds: start the daemon once the issuer answers.
for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/p9999/jwks" && break; sleep 0.1; done
"$jwksd" serve --config "$work/storm.yaml" --log-level error &
daemon=$!
pids+=($daemon)
wait_healthy
sleep 5
echo "### storm (every provider refetches a rotated set every 5-10 s): the same runs"
first=$(refreshes)
p99_runs 1 storm
p99_runs 16 storm
echo "refreshes during the storm runs: $(($(refreshes) - first)) (200s, 304s and errors)"
for connections in 1 16; do
    echo "p99 ratio, $connections connection(s), median storm / median quiet: $(awk -v s="$(cat "$work/p99-$connections-storm")" \
        -v q="$(cat "$work/p99-$connections-quiet")" 'BEGIN { printf "%.2f", s / q }')x"
done
curl -s http://127.0.0.1:19464/metrics | grep '^jwksd_refreshes_total'
echo "daemon RSS in the storm: $(rss_mb "$daemon") MB"
fi
