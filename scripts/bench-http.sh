#!/usr/bin/env bash
# The HTTP JWKS endpoint against nginx serving the same bytes as a static file, through the same load generator
# (wrk, keep-alive), on this machine, in one run: for each connection count, rounds alternate jwksd and nginx so
# the machine's noise hits both. The set is Google's JWKS (2 KB, Tests/JWKSTests/Fixtures), served by a file
# provider; nginx serves the bytes jwksd answered, with its default ETag and sendfile. Both get the same number
# of event-loop threads / worker processes (THREADS, default 1: jwksd's default on 2 cores).
#   scripts/bench-http.sh [SECONDS=10] [ROUNDS=3] [CONNECTIONS="16 1"] [THREADS=1]
# Prints one line per run and a summary (median requests/s per server and connection count, and the ratio).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
rounds="${2:-3}"
connections="${3:-16 1}"
threads="${4:-1}"

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
scripts/apt-install.sh "${missing[@]}"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
jwksd=.build-release/release/jwksd
[ -x "$jwksd" ] || swift build -c release --scratch-path .build-release --product jwksd

work="$(mktemp -d /tmp/jwksd-bench-http.XXXXXX)"
cleanup() {
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
jwksd_port="$(free_port)"
nginx_port="$(free_port)"
cp Tests/JWKSTests/Fixtures/google-jwks-v3-2026-08-12.json "$work/google.json"
cat > "$work/jwksd.yaml" <<EOF
version: 1
server:
  socket: ./jwksd.sock
  event_loop_threads: $threads
  http: { listen: "127.0.0.1:$jwksd_port", max_connections: 1024 }
tenants:
  acme:
    providers:
      google: { file: ./google.json }
EOF
"$jwksd" serve --config "$work/jwksd.yaml" --log-level warning 2>"$work/jwksd.log" &
daemon=$!
url_jwksd="http://127.0.0.1:$jwksd_port/v1/jwks/acme/google"
for _ in $(seq 1 100); do curl -sf -o "$work/doc.json" "$url_jwksd" && break; sleep 0.1; done
[ -s "$work/doc.json" ] || { echo "jwksd did not answer: $(cat "$work/jwksd.log")" >&2; exit 1; }

mkdir -p "$work/www/v1/jwks/acme"
chmod 755 "$work"   # nginx workers run as an unprivileged user
cp "$work/doc.json" "$work/www/v1/jwks/acme/google"
chmod -R a+rX "$work/www"
cat > "$work/nginx.conf" <<EOF
worker_processes $threads;
daemon on;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
        default_type application/jwk-set+json;
    }
}
EOF
"$nginx_bin" -c "$work/nginx.conf" -p "$work" -e "$work/nginx.err"
url_nginx="http://127.0.0.1:$nginx_port/v1/jwks/acme/google"
for _ in $(seq 1 50); do curl -sf -o "$work/nginx.json" "$url_nginx" && break; sleep 0.1; done
cmp -s "$work/doc.json" "$work/nginx.json" || { echo "nginx does not serve the same bytes" >&2; exit 1; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); body $(wc -c < "$work/doc.json") bytes"
echo "wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), ${seconds}s per run, $rounds rounds, threads/workers: $threads"
results="$work/results"
: > "$results"
for c in $connections; do
    wrk_threads=$(( c < 2 ? 1 : 2 ))
    for round in $(seq 1 "$rounds"); do
        for server in jwksd nginx; do
            url="$url_jwksd"; [ "$server" = nginx ] && url="$url_nginx"
            out="$(wrk -t"$wrk_threads" -c"$c" -d"${seconds}s" --latency "$url")"
            rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
            p50="$(echo "$out" | awk '$1=="50%" {print $2}')"
            p99="$(echo "$out" | awk '$1=="99%" {print $2}')"
            errors="$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')"
            echo "c=$c round=$round $server: $rps req/s, p50 $p50, p99 $p99 $errors"
            echo "$c $server $rps" >> "$results"
        done
    done
done
echo "summary (median req/s):"
for c in $connections; do
    j="$(awk -v c="$c" '$1==c && $2=="jwksd" {print $3}' "$results" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
    n="$(awk -v c="$c" '$1==c && $2=="nginx" {print $3}' "$results" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
    echo "c=$c jwksd $j nginx $n ratio $(awk -v j="$j" -v n="$n" 'BEGIN {printf "%.2f", j/n}')"
done
