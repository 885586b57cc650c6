#!/usr/bin/env python3
"""Benchmarks of the jwksd Python client, in one run, side by side (microseconds, p50/p90/p99):

1. ``KeyCache.get_key`` hit (no call to the daemon);
2. ``Client.get_key`` against a bare ``socket`` ping-pong on the same daemon with the same request and reply
   bytes (the prebuilt GetKey frame sent, the reply's bytes read), alternating call by call;
   both (1) and (2) unpinned, then with the daemon and this process pinned to one CPU (``taskset -c 0``);
3. what a Python service saves: ``jwt.decode`` with ``jwksd.pyjwt.PyJWKClient`` (``cache=True``) against
   PyJWT's own ``jwt.PyJWKClient`` (its JWK Set cache on) pointed at a JWKS URL (a local ``http.server``
   serving the same key file the daemon reads), on the same tokens.

    .build-python/bin/python3 clients/python/bench/bench_client.py --jwksd .build/release/jwksd

It writes its keys, key file and config to a temporary directory, starts the daemon itself (once unpinned,
once under ``taskset -c CPU``), and prints a markdown report. ``--profile`` adds a cProfile of Client.get_key.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
if os.environ.get("JWKSD_BENCH_INSTALLED") != "1":
    sys.path.insert(0, os.path.dirname(HERE))  # the sources next to this script
sys.dont_write_bytecode = True

import jwt  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

import jwksd  # noqa: E402
import jwksd.pyjwt  # noqa: E402
from jwksd import _wire  # noqa: E402
from jwksd.v1 import jwksd_pb2 as pb  # noqa: E402

ISSUER = "https://bench.example"
AUDIENCE = "api://bench"
CONFIG = """\
version: 1
server: {{ socket: ./jwksd.sock }}
tenants:
  bench:
    providers:
      keys:
        file: ./jwks.json
        verify: {{ issuer: "{issuer}", audiences: ["{audience}"] }}
"""

Percentiles = Tuple[float, float, float]


def b64u_uint(value: int, size: Optional[int] = None) -> str:
    raw = value.to_bytes(size or (value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def make_keys() -> Dict[str, Tuple[Any, Dict[str, Any]]]:
    es = ec.generate_private_key(ec.SECP256R1())
    rs = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    en, rn = es.public_key().public_numbers(), rs.public_key().public_numbers()
    return {
        "ES256": (es, {"kty": "EC", "kid": "bench-es256", "use": "sig", "alg": "ES256", "crv": "P-256",
                       "x": b64u_uint(en.x, 32), "y": b64u_uint(en.y, 32)}),
        "RS256": (rs, {"kty": "RSA", "kid": "bench-rs256", "use": "sig", "alg": "RS256",
                       "n": b64u_uint(rn.n), "e": b64u_uint(rn.e)}),
    }


def percentiles(samples: List[int]) -> Percentiles:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000

    return at(0.50), at(0.90), at(0.99)


def alternate(sides: Sequence[Callable[[], Any]], warmup: int, iterations: int) -> List[Percentiles]:
    """Times each side ``iterations`` times, alternating call by call after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        for side in sides:
            side()
    samples: List[List[int]] = [[] for _ in sides]
    clock = time.perf_counter_ns
    for _ in range(iterations):
        for index, side in enumerate(sides):
            start = clock()
            side()
            samples[index].append(clock() - start)
    return [percentiles(side) for side in samples]


class Daemon:
    def __init__(self, binary: str, directory: str, cpu: Optional[int]) -> None:
        command = [binary, "serve", "--config", os.path.join(directory, "config.yaml")]
        if cpu is not None:
            command = ["taskset", "-c", str(cpu)] + command
        self.process = subprocess.Popen(command, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.socket = os.path.join(directory, "jwksd.sock")
        deadline = time.monotonic() + 30
        with jwksd.Client(self.socket, timeout=1) as client:
            while time.monotonic() < deadline:
                try:
                    if client.health().serving:
                        return
                except jwksd.Error:
                    time.sleep(0.02)
        raise SystemExit("the daemon did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def bare_ping_pong(path: str, frame: bytes, reply_length: int) -> Tuple[Callable[[], None], socket.socket]:
    """The floor: a blocking socket sending the prebuilt frame and reading the reply's bytes, nothing else."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    send, recv = sock.sendall, sock.recv

    def call() -> None:
        send(frame)
        got = len(recv(65536))
        while got < reply_length:
            got += len(recv(65536))

    return call, sock


def lookup_phase(binary: str, directory: str, cpu: Optional[int], args: argparse.Namespace) -> Dict[str, Any]:
    original = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    daemon = Daemon(binary, directory, cpu)
    results: Dict[str, Any] = {}
    try:
        with jwksd.Client(daemon.socket) as client, jwksd.KeyCache(daemon.socket, tenants=["bench"]) as cache:
            if not cache.wait_ready(10):
                raise SystemExit("the KeyCache did not build")
            for alg, kid in (("ES256", "bench-es256"), ("RS256", "bench-rs256")):
                # The exact frame Client.get_key sends (its payload is memoized), and the reply's size.
                payload = pb.GetKeyRequest(tenant="bench", kid=kid, timeout_ms=5000).SerializeToString()
                frame = _wire.frame(_wire.REQUEST, _wire.ACCEPT_COMPRESSED, _wire.GET_KEY, 1, payload)
                body = client._call(_wire.GET_KEY, payload, 6)  # the reply's payload (an OK reply)
                reply_length = 12 + len(body)
                bare, sock = bare_ping_pong(daemon.socket, frame, reply_length)
                try:
                    assert client.get_key("bench", kid) == cache.get_key("bench", kid)
                    assert client._requests[("bench", None, kid, None, None)][0] == frame, "not the same bytes"
                    by_client, by_bare = alternate(
                        [lambda: client.get_key("bench", kid), bare], args.warmup, args.iterations
                    )
                finally:
                    sock.close()
                (hit,) = alternate([lambda: cache.get_key("bench", kid)], args.warmup, args.iterations * 5)
                loops = args.iterations * 20
                get = cache.get_key
                started = time.perf_counter_ns()
                for _ in range(loops):
                    get("bench", kid)
                mean_hit = (time.perf_counter_ns() - started) / loops / 1000
                results[alg] = {"client": by_client, "bare": by_bare, "hit": hit, "hit_mean": mean_hit,
                                "request_bytes": len(frame), "reply_bytes": reply_length}
            if args.profile and cpu is None:
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(args.iterations):
                    client.get_key("bench", "bench-es256")
                profile.disable()
                text = io.StringIO()
                pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
                results["profile"] = text.getvalue()
    finally:
        daemon.stop()
        os.sched_setaffinity(0, original)
    return results


def pyjwt_phase(binary: str, directory: str, keys: Dict[str, Tuple[Any, Dict[str, Any]]],
                args: argparse.Namespace) -> Dict[str, Any]:
    document = open(os.path.join(directory, "jwks.json"), "rb").read()
    fetches = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            fetches[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.send_header("Cache-Control", "max-age=300")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/jwks.json"
    daemon = Daemon(binary, directory, None)
    now = int(time.time())
    results: Dict[str, Any] = {}
    try:
        for alg, (private, jwk) in keys.items():
            token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "iat": now, "exp": now + 3600},
                               private, algorithm=alg, headers={"kid": jwk["kid"]})
            # Cold: a new client, first call (PyJWT downloads the set; jwksd's asks the daemon).
            started = time.perf_counter_ns()
            theirs = jwt.PyJWKClient(url)
            theirs.get_signing_key_from_jwt(token)
            cold_theirs = (time.perf_counter_ns() - started) / 1000
            started = time.perf_counter_ns()
            ours = jwksd.pyjwt.PyJWKClient("bench", provider="keys", socket_path=daemon.socket)
            ours.get_signing_key_from_jwt(token)
            cold_ours = (time.perf_counter_ns() - started) / 1000
            if not ours.cache.wait_ready(10):  # type: ignore[union-attr]
                raise SystemExit("the KeyCache did not build")

            def decode_with(client: Any) -> Callable[[], Any]:
                def decode() -> Any:
                    key = client.get_signing_key_from_jwt(token)
                    return jwt.decode(token, key.key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
                return decode

            assert decode_with(ours)() == decode_with(theirs)()
            lookup_ours, lookup_theirs = alternate(
                [lambda: ours.get_signing_key_from_jwt(token), lambda: theirs.get_signing_key_from_jwt(token)],
                args.warmup, args.iterations)
            decode_ours, decode_theirs = alternate([decode_with(ours), decode_with(theirs)], args.warmup // 4,
                                                   args.iterations // 4)
            # An unknown kid: PyJWT refetches over HTTP (at most once per 30 s cooldown, so here: once), then
            # raises; jwksd's asks the daemon, which applies its kid-miss rule.
            unknown = jwt.encode({"iss": ISSUER}, private, algorithm=alg, headers={"kid": "rotated-in"})
            miss_ours, miss_theirs = alternate([_raises(ours, unknown), _raises(theirs, unknown)], 10, 500)
            ours.close()
            results[alg] = {"cold": (cold_ours, cold_theirs), "lookup": (lookup_ours, lookup_theirs),
                            "decode": (decode_ours, decode_theirs), "miss": (miss_ours, miss_theirs)}
        results["http_fetches"] = fetches[0]
    finally:
        daemon.stop()
        server.shutdown()
        server.server_close()
    return results


def _raises(client: Any, token: str) -> Callable[[], None]:
    def call() -> None:
        try:
            client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientError:
            return
        raise AssertionError("an unknown kid was found")
    return call


def fmt(p: Percentiles) -> str:
    return f"{p[0]:.1f} / {p[1]:.1f} / {p[2]:.1f}"


def machine() -> str:
    lines = [f"- `nproc`: {os.cpu_count()}; Python {platform.python_version()}; protobuf "
             f"{__import__('google.protobuf').protobuf.__version__}; PyJWT {jwt.__version__}"]
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines()[:10]
        lines.append("- `lscpu | head`:\n\n```\n" + "\n".join(lscpu) + "\n```")
    except OSError:
        pass
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jwksd", required=True, help="the jwksd binary (a release build)")
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--cpu", type=int, default=0, help="the CPU of the pinned phase")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of Client.get_key")
    args = parser.parse_args()
    if not shutil.which("taskset"):
        raise SystemExit("taskset (util-linux) is needed for the pinned phase")
    directory = tempfile.mkdtemp(prefix="jwksd-bench-py-")
    keys = make_keys()
    with open(os.path.join(directory, "jwks.json"), "w") as out:
        json.dump({"keys": [jwk for _, jwk in keys.values()]}, out)
    with open(os.path.join(directory, "config.yaml"), "w") as out:
        out.write(CONFIG.format(issuer=ISSUER, audience=AUDIENCE))
    try:
        phases = {"unpinned": lookup_phase(args.jwksd, directory, None, args)}
        phases[f"pinned (taskset -c {args.cpu}, daemon and Python)"] = lookup_phase(
            args.jwksd, directory, args.cpu, args)
        saved = pyjwt_phase(args.jwksd, directory, keys, args)
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    print(f"jwksd Python client benchmark: {args.iterations} timed calls per side (alternating call by call) after "
          f"{args.warmup} warm-up calls; microseconds p50 / p90 / p99.\n")
    print(machine() + "\n")
    print("### Lookups\n")
    print("| phase | key | KeyCache.get_key hit | (mean of a loop) | Client.get_key | bare socket ping-pong | "
          "Client / bare (p50) | frame bytes (request / reply) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for phase, results in phases.items():
        for alg in ("ES256", "RS256"):
            r = results[alg]
            print(f"| {phase} | {alg} | {fmt(r['hit'])} | {r['hit_mean']:.2f} | {fmt(r['client'])} | "
                  f"{fmt(r['bare'])} | {r['client'][0] / r['bare'][0]:.2f} | {r['request_bytes']} / "
                  f"{r['reply_bytes']} |")
    print("\n### What a Python service saves: jwksd.pyjwt.PyJWKClient (cache=True) vs jwt.PyJWKClient (JWKS URL)\n")
    print("| key | step | jwksd.pyjwt | PyJWT's PyJWKClient | jwksd / PyJWT (p50) |")
    print("|---|---|---:|---:|---:|")
    for alg in ("ES256", "RS256"):
        r = saved[alg]
        print(f"| {alg} | first call of a new client (cold, one sample) | {r['cold'][0]:.0f} | {r['cold'][1]:.0f} | "
              f"{r['cold'][0] / r['cold'][1]:.2f} |")
        for step, name in (("lookup", "get_signing_key_from_jwt (warm)"),
                           ("decode", "get_signing_key_from_jwt + jwt.decode (warm)"),
                           ("miss", "unknown kid (raises PyJWKClientError)")):
            ours, theirs = r[step]
            print(f"| {alg} | {name} | {fmt(ours)} | {fmt(theirs)} | {ours[0] / theirs[0]:.2f} |")
    print(f"\nHTTP fetches of the JWKS URL by PyJWT's client during the run: {saved['http_fetches']}")
    for results in phases.values():
        if "profile" in results:
            print("\n### cProfile of Client.get_key (unpinned)\n\n```\n" + results["profile"].strip() + "\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
