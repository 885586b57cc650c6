#!/usr/bin/env python3
"""Latency of one JWT verification from Python: jwksd's VerifyJWT through the Unix socket (`jwksd.Client.verify` of
the client package, clients/python, one call at a time: the reply's claims and header parsed into dicts) against
PyJWT's jwt.decode in process with the key already loaded (a PyJWK made once), same token and same checks (signature, iss, aud, exp/nbf with a 60 s leeway, exp
required).

    .build-python/bin/python3 scripts/bench-verify.py prepare DIR
    .build/release/jwksd serve --config DIR/config.yaml &
    .build-python/bin/python3 scripts/bench-verify.py run --dir DIR [--socket DIR/jwksd.sock]

or in one step, the daemon started and stopped by the script:

    .build-python/bin/python3 scripts/bench-verify.py prepare DIR
    .build-python/bin/python3 scripts/bench-verify.py run --dir DIR --serve .build/release/jwksd

`prepare` (DIR may also be given as --jwks-out DIR) mints an ES256 and an RS256 key and writes DIR/jwks.json
(public keys), DIR/bench-keys.json (the private keys, mode 0600: `run` mints its tokens with them) and
DIR/config.yaml (socket ./jwksd.sock, tenant `bench`, provider `keys` reading jwks.json, verify issuer
https://bench.example and audience api://bench). `run` mints fresh tokens (exp one hour ahead), warms up,
then times --iterations calls per side (the sides alternating call by call) in three scenarios: one ES256 token repeated, one RS256 token
repeated, and --distinct ES256 tokens cycled (by default as many as calls: none repeats); it prints p50/p90/p99 in microseconds and the socket/PyJWT
ratio of the p50s as a markdown table. The daemon answers a repeated token from its verified-token cache;
in the third scenario every call carries a token it has not seen. Only a release build's figures mean
anything.

    .build-python/bin/python3 scripts/bench-verify.py tokens --dir DIR --alg ES256 --count 1 --out FILE

writes tokens (one per line) for `jwksd bench --method verify-jwt --tokens FILE`.
"""
import argparse
import base64
import json
import os
import platform
import signal
import subprocess
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import jwksd  # the client package, clients/python (scripts/python-env.sh installs it into .build-python)

ISSUER = "https://bench.example"
AUDIENCE = "api://bench"
LEEWAY = 60
KIDS = {"ES256": "bench-es256", "RS256": "bench-rs256"}
CONFIG = """\
# Written by scripts/bench-verify.py prepare.
version: 1
server:
  socket: ./jwksd.sock
tenants:
  bench:
    providers:
      keys:
        file: ./jwks.json
        verify:
          issuer: "{issuer}"
          audiences: ["{audience}"]
"""


def b64url_uint(value, size=None):
    raw = value.to_bytes(size or (value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(private, alg):
    numbers = private.public_key().public_numbers()
    if alg == "RS256":
        return {"kty": "RSA", "kid": KIDS[alg], "use": "sig", "alg": alg, "n": b64url_uint(numbers.n),
                "e": b64url_uint(numbers.e)}
    return {"kty": "EC", "kid": KIDS[alg], "use": "sig", "alg": alg, "crv": "P-256",
            "x": b64url_uint(numbers.x, 32), "y": b64url_uint(numbers.y, 32)}


def prepare(directory):
    os.makedirs(directory, exist_ok=True)
    private = {"ES256": ec.generate_private_key(ec.SECP256R1()),
               "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
    with open(os.path.join(directory, "jwks.json"), "w") as out:
        json.dump({"keys": [public_jwk(key, alg) for alg, key in private.items()]}, out, indent=1)
        out.write("\n")
    pems = {alg: key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()).decode("ascii") for alg, key in private.items()}
    path = os.path.join(directory, "bench-keys.json")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        json.dump(pems, out, indent=1)
    with open(os.path.join(directory, "config.yaml"), "w") as out:
        out.write(CONFIG.format(issuer=ISSUER, audience=AUDIENCE))
    print(f"wrote {directory}/jwks.json, bench-keys.json and config.yaml; start the daemon with\n"
          f"  jwksd serve --config {directory}/config.yaml", file=sys.stderr)


def load_private(directory):
    with open(os.path.join(directory, "bench-keys.json")) as source:
        pems = json.load(source)
    return {alg: serialization.load_pem_private_key(pem.encode(), None) for alg, pem in pems.items()}


def minter(private):
    """mint(alg, number): a token for the bench provider, exp an hour ahead, `sub` made distinct by number."""
    now = int(time.time())

    def mint(alg, number):
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"user-{number}", "iat": now, "exp": now + 3600}
        return jwt.encode(claims, private[alg], algorithm=alg, headers={"kid": KIDS[alg]})

    return mint


def write_tokens(args):
    """Tokens for `jwksd bench --method verify-jwt --tokens FILE`, one per line."""
    mint = minter(load_private(args.dir))
    with open(args.out, "w") as out:
        for number in range(args.count):
            out.write(mint(args.alg, number) + "\n")
    return 0


def percentiles(samples_ns):
    ordered = sorted(samples_ns)

    def at(fraction):
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000

    return at(0.50), at(0.90), at(0.99)


def measure(sides, tokens, warmup, iterations):
    """Times `iterations` calls of each side's verify(token), tokens cycled, after `warmup` untimed calls per
    side. The sides alternate call by call, so a noisy moment of a shared machine falls on both alike."""
    count = len(tokens)
    for index in range(warmup):
        for verify in sides:
            verify(tokens[index % count])
    samples = [[] for _ in sides]
    clock = time.perf_counter_ns
    for index in range(warmup, warmup + iterations):
        token = tokens[index % count]
        for side, verify in enumerate(sides):
            start = clock()
            verify(token)
            samples[side].append(clock() - start)
    return [percentiles(side) for side in samples]


def wait_for_socket(path, process, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the daemon exited with {process.returncode} before listening")
        try:
            with jwksd.Client(path) as client:
                if client.health().serving:
                    return
        except jwksd.Error:
            pass
        time.sleep(0.1)
    raise SystemExit(f"no daemon serving on {path} after {seconds} s")


def run(args):
    with open(os.path.join(args.dir, "jwks.json")) as source:
        public = {key["alg"]: jwt.PyJWK(key) for key in json.load(source)["keys"]}
    private = load_private(args.dir)
    mint = minter(private)
    if args.distinct is None:
        args.distinct = args.warmup + args.iterations
    print(f"minting {args.distinct} distinct ES256 tokens", file=sys.stderr)
    scenarios = [
        ("ES256, one token repeated", "ES256", [mint("ES256", 0)]),
        ("RS256, one token repeated", "RS256", [mint("RS256", 0)]),
        (f"ES256, {args.distinct} distinct tokens cycled", "ES256", [mint("ES256", n) for n in range(args.distinct)]),
    ]
    socket_path = args.socket or os.path.join(args.dir, "jwksd.sock")
    daemon = None
    if args.serve:
        daemon = subprocess.Popen([args.serve, "serve", "--config", os.path.join(args.dir, "config.yaml")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if daemon:
            wait_for_socket(socket_path, daemon)
        client = jwksd.Client(socket_path)
        try:
            rows = []
            for name, alg, tokens in scenarios:
                key = public[alg]

                def by_socket(token):
                    client.verify(token, args.tenant, provider=args.provider)

                def by_pyjwt(token, key=key, alg=alg):
                    jwt.decode(token, key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER, leeway=LEEWAY,
                               options={"require": ["exp"]})

                # Both sides must accept the token before they are timed.
                reply = client.verify(tokens[0], args.tenant, provider=args.provider)
                by_pyjwt(tokens[0])
                print(f"{name}: verified by {args.tenant}/{reply.provider} key {reply.kid}; timing", file=sys.stderr)
                socket_times, pyjwt_times = measure([by_socket, by_pyjwt], tokens, args.warmup, args.iterations)
                rows.append((name, socket_times, pyjwt_times))
            # The round trip alone: Health (an empty request, an 18-byte reply) through the same client.
            (floor,) = measure([lambda _: client.health()], [None], args.warmup, args.iterations)
        finally:
            client.close()
    except jwksd.Error as error:
        print(error, file=sys.stderr)
        return 10 + error.code
    finally:
        if daemon:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)

    print(f"VerifyJWT over {socket_path} vs PyJWT {jwt.__version__} jwt.decode in process; Python "
          f"{platform.python_version()}; {args.iterations} timed calls per side and scenario after {args.warmup} "
          f"warm-up calls; microseconds.\n")
    print("| scenario | socket p50 | socket p90 | socket p99 | PyJWT p50 | PyJWT p90 | PyJWT p99 | socket/PyJWT p50 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (s50, s90, s99), (p50, p90, p99) in rows:
        print(f"| {name} | {s50:.1f} | {s90:.1f} | {s99:.1f} | {p50:.1f} | {p90:.1f} | {p99:.1f} | {s50 / p50:.2f} |")
    print(f"| round trip alone (Health, same client) | {floor[0]:.1f} | {floor[1]:.1f} | {floor[2]:.1f} | | | | |")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="VerifyJWT over the socket vs PyJWT in process (see the doc).")
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="mint the keys; write jwks.json, bench-keys.json and config.yaml")
    prep.add_argument("dir", nargs="?", help="the directory to write (or --jwks-out)")
    prep.add_argument("--jwks-out", help="the directory to write")
    bench = commands.add_parser("run", help="measure against a daemon serving DIR/config.yaml")
    bench.add_argument("--dir", required=True, help="what prepare wrote")
    bench.add_argument("--socket", help="default: DIR/jwksd.sock")
    bench.add_argument("--tenant", default="bench")
    bench.add_argument("--provider", default="keys")
    bench.add_argument("--iterations", type=int, default=20_000, help="timed calls per side and scenario")
    bench.add_argument("--warmup", type=int, default=2_000, help="untimed calls before each timing")
    bench.add_argument("--distinct", type=int,
                       help="ES256 tokens of the third scenario (default --warmup + --iterations: none repeats, so "
                            "the daemon's verified-token cache never answers)")
    bench.add_argument("--serve", metavar="JWKSD", help="start this jwksd binary on DIR/config.yaml, stop it after")
    tokens = commands.add_parser("tokens", help="write tokens for jwksd bench --method verify-jwt --tokens FILE")
    tokens.add_argument("--dir", required=True, help="what prepare wrote")
    tokens.add_argument("--alg", choices=sorted(KIDS), default="ES256")
    tokens.add_argument("--count", type=int, default=1, help="distinct tokens (1: one token, repeated)")
    tokens.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "tokens":
        return write_tokens(args)
    if args.command == "prepare":
        directory = args.dir or args.jwks_out
        if not directory:
            parser.error("prepare needs DIR (or --jwks-out DIR)")
        prepare(directory)
        return 0
    if args.iterations < 1 or (args.distinct is not None and args.distinct < 1) or args.warmup < 0:
        parser.error("--iterations and --distinct must be at least 1, --warmup at least 0")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
