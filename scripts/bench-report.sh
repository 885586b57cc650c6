#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md on this machine (release build; daemon, DevIssuer, Redis and the
# bench on the same host). Takes ~10 minutes after the build. Redis (installed with apt-get when missing) is
# driven by the same client as jwksd (`jwksd bench --redis`): one connection pinned to one CPU for both, 16
# connections, 16 x 16 pipelined, with each server's CPU per call.
#   scripts/bench-report.sh [SECONDS_PER_RUN] [all|lookups|scale|storm]
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
echo "## Lookups: jwksd GetKey beside Redis GET of a value the reply's size, through the same client"
command -v redis-server >/dev/null || scripts/apt-install.sh redis-server >/dev/null 2>&1 || true
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
"$jwksd" serve --config "$work/small.yaml" --log-level error &
daemon=$!
pids+=($daemon)
wait_healthy
redis=""
if command -v redis-server >/dev/null; then
    redis-server --port 0 --unixsocket "$work/redis.sock" --save "" --appendonly no --daemonize no \
        >"$work/redis.log" 2>&1 &
    redis=$!
    pids+=($redis)
    sleep 0.5
    echo "Redis $(redis-server --version | awk '{print $3}') on a Unix socket, no persistence"
fi
key=(--tenant t0 --provider p0 --kid p0-0)
reply=$("$jwksd" bench "${key[@]}" --requests 2000 --warmup 0s --json | sed -E 's/.*"reply_bytes":([0-9]+).*/\1/')
value=$((reply - 8))  # RESP's "\$N\r\n ... \r\n" around the value: the same bytes on the wire
echo "GetKey replies are $reply bytes; Redis values $value bytes (+8 bytes of RESP framing)"
# One shape for both servers: ARGS... ; the one-connection shape pins both servers and the client to CPU 0
# (a wake-up across the two vCPUs costs 7-60 us here and swings single-connection figures 3-8x).
side_by_side() {
    local label=$1 pin=$2; shift 2
    local cpu=(); [ "$pin" = pin ] && cpu=(taskset -c 0)
    if [ "$pin" = pin ]; then taskset -a -p -c 0 "$daemon" >/dev/null; [ -n "$redis" ] && taskset -a -p -c 0 "$redis" >/dev/null; fi
    "${cpu[@]}" "$jwksd" bench "${key[@]}" --duration "${seconds}s" "$@" --json >"$work/j.json"
    echo "jwksd  $label: $(cat "$work/j.json")"
    if [ -n "$redis" ]; then
        "${cpu[@]}" "$jwksd" bench --redis "$work/redis.sock" --value-bytes "$value" --duration "${seconds}s" "$@" \
            --json >"$work/r.json"
        echo "redis  $label: $(cat "$work/r.json")"
        python3 - "$work/j.json" "$work/r.json" "$label" <<'PY'
import json, sys
j, r = (json.load(open(p)) for p in sys.argv[1:3])
ratio = lambda a, b: a / b if b else float("nan")
print(f"ratio  {sys.argv[3]}: p50 {ratio(j['latency_us']['p50'], r['latency_us']['p50']):.2f}x, "
      f"p99 {ratio(j['latency_us']['p99'], r['latency_us']['p99']):.2f}x, "
      f"throughput {ratio(j['throughput'], r['throughput']):.2f}x, "
      f"server CPU per call {ratio(j.get('daemon_cpu_us_per_call', 0), r.get('daemon_cpu_us_per_call', 0)):.2f}x "
      "(jwksd / Redis)")
PY
    fi
    if [ "$pin" = pin ]; then taskset -a -p -c 0-"$(($(nproc) - 1))" "$daemon" >/dev/null; [ -n "$redis" ] && taskset -a -p -c 0-"$(($(nproc) - 1))" "$redis" >/dev/null; fi
}
echo "### one connection, pinned to one CPU"
side_by_side "1 connection (CPU 0)" pin
echo "### 16 connections"
side_by_side "16 connections" free --connections 16
echo "### 16 connections x pipeline 16"
side_by_side "16 x 16 pipelined" free --connections 16 --pipeline 16
echo "### floors: GetKey, one connection, unpinned"
"$jwksd" bench "${key[@]}" --duration "${seconds}s" --floor
echo "### GetKey of a 1.5 KB Microsoft key (x5c), one connection: compressed vs plain (daemon CPU per call)"
mskid=$("$jwksd" keys --tenant sets --provider microsoft | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["kid"])')
"$jwksd" bench --tenant sets --provider microsoft --kid "$mskid" --duration "${seconds}s" --compressed --json >"$work/c.json"
"$jwksd" bench --tenant sets --provider microsoft --kid "$mskid" --duration "${seconds}s" --json >"$work/p.json"
echo "compressed: $(cat "$work/c.json")"
echo "plain:      $(cat "$work/p.json")"
python3 - "$work/c.json" "$work/p.json" <<'PY'
import json, sys
c, p = (json.load(open(x)) for x in sys.argv[1:3])
print(f"compressed / plain daemon CPU per call: {c['daemon_cpu_us_per_call'] / p['daemon_cpu_us_per_call']:.2f}x "
      f"(replies {c.get('reply_bytes')} vs {p.get('reply_bytes')} bytes)")
PY
echo "### GetKeySet: Microsoft 15 KB compressed vs Google 2 KB plain, one connection"
"$jwksd" bench --method get-key-set --tenant sets --provider microsoft --compressed --duration "${seconds}s"
"$jwksd" bench --method get-key-set --tenant sets --provider google --duration "${seconds}s"
echo "daemon RSS: $(rss_mb "$daemon") MB"
kill "$daemon"; wait "$daemon" 2>/dev/null || true
[ -n "$redis" ] && { kill "$redis"; wait "$redis" 2>/dev/null || true; }
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
