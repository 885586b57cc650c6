"""``python -m jwksd``: query a running jwksd over its Unix socket.

    python -m jwksd [--socket PATH] get --tenant acme --kid acme-0 [--provider P] [--alg ES256]
    python -m jwksd [--socket PATH] keys --tenant acme --provider login
    python -m jwksd [--socket PATH] status
    python -m jwksd [--socket PATH] health
    python -m jwksd [--socket PATH] verify --tenant acme [--provider P] [--audience A]... [TOKEN|-]

The socket defaults to $JWKSD_SOCKET, else ./jwksd.sock. A failed call prints `STATUS_NAME: message` on
standard error and exits with 10 + the status code, like the jwksd command line (UNAVAILABLE 24 also when no
daemon listens).

`get` and `keys` print the JSON exactly as the provider served it. `verify` checks a compact JWS with
VerifyJWT (the token from the command line, or from standard input when it is `-` or absent) and prints its
claims JSON exactly as the token carries them. A token that does not verify is UNAUTHENTICATED:
`UNAUTHENTICATED: reason: detail` on standard error, exit 26.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from .client import Client
from .errors import Error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jwksd", description="Query a running jwksd over its Unix socket.")
    parser.add_argument("--socket", default=os.environ.get("JWKSD_SOCKET", "./jwksd.sock"))
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a call may take (default 5)")
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("get", help="print one key's JSON")
    get.add_argument("--tenant", required=True)
    get.add_argument("--provider", default="")
    get.add_argument("--kid", required=True)
    get.add_argument("--alg", default="")
    keys = commands.add_parser("keys", help="print a provider's JWKS as served")
    keys.add_argument("--tenant", required=True)
    keys.add_argument("--provider", required=True)
    commands.add_parser("status", help="every provider's state as JSON lines")
    commands.add_parser("health", help="exit 0 when serving")
    verify = commands.add_parser("verify", help="verify a JWT and print its claims JSON")
    verify.add_argument("--tenant", required=True)
    verify.add_argument("--provider", default="", help="default: the provider whose issuer is the token's iss")
    verify.add_argument(
        "--audience", action="append", default=[], help="check these audiences instead of the configured ones"
    )
    verify.add_argument("token", nargs="?", default="-", help="the compact JWS; - or absent: read standard input")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.timeout <= 0:
        print("--timeout must be positive", file=sys.stderr)
        return 2
    try:
        with Client(args.socket, timeout=args.timeout, max_idle=1) as client:
            if args.command == "get":
                key = client.get_key_info(args.tenant, args.kid, provider=args.provider, alg=args.alg)
                print(key.jwk_json.decode("utf-8"))
                if key.stale:
                    print(f"warning: {args.tenant}/{key.provider} is served stale", file=sys.stderr)
            elif args.command == "keys":
                print(client.get_key_set_info(args.tenant, args.provider).jwks_json.decode("utf-8"))
            elif args.command == "status":
                for provider in client.status().providers:
                    print(
                        json.dumps(
                            {
                                "tenant": provider.tenant,
                                "provider": provider.provider,
                                "standing": provider.standing,
                                "keys": provider.key_count,
                                "last_error": provider.last_error,
                            }
                        )
                    )
            elif args.command == "health":
                health = client.health()
                print(f"serving: {health.serving} ({health.ready}/{health.providers} providers ready)")
                return 0 if health.serving else 1
            elif args.command == "verify":
                token = sys.stdin.read().strip() if args.token == "-" else args.token
                verified = client.verify(token, args.tenant, provider=args.provider, audiences=args.audience)
                sys.stdout.buffer.write(verified.raw_claims + b"\n")
                sys.stdout.flush()
                if verified.stale:
                    print(f"warning: {args.tenant}/{verified.provider} is served stale", file=sys.stderr)
    except Error as error:
        print(error, file=sys.stderr)
        return 10 + error.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
