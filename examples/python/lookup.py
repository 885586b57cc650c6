#!/usr/bin/env python3
"""Key lookups from Python with the jwksd client package (clients/python):

    pip install "./clients/python[pyjwt]"        # scripts/python-env.sh installs it into .build-python
    .build-python/bin/python3 examples/python/lookup.py --tenant acme --kid acme-1 [--provider P] \
        [--token JWT --audience AUD --alg ES256]

The socket is --socket, else $JWKSD_SOCKET, else ./jwksd.sock (the demo prints its path: scripts/run.sh).
"""
import argparse
import time

import jwksd


def main() -> int:
    parser = argparse.ArgumentParser(description="Look a key up three ways: Client, KeyCache, the PyJWT drop-in.")
    parser.add_argument("--socket")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--kid", required=True)
    parser.add_argument("--provider")
    parser.add_argument("--token", help="a JWT to decode with PyJWT and a key from jwksd")
    parser.add_argument("--audience")
    parser.add_argument("--alg", default="ES256", help="the algorithm PyJWT accepts for --token")
    args = parser.parse_args()

    # 1. Client: every call of the protocol; one GetKey is one round trip over the Unix socket.
    with jwksd.Client(args.socket) as client:
        try:
            key = client.get_key(args.tenant, args.kid, provider=args.provider)
        except jwksd.NotFound as error:
            print(error)
            return 15
        print("Client.get_key:", key)

    # 2. KeyCache: a local copy kept current by Watch. Held keys are answered from memory, with no call;
    #    anything else goes to the daemon, whose answers and errors it returns.
    with jwksd.KeyCache(args.socket, tenants=[args.tenant]) as cache:
        cache.wait_ready(5)
        key = cache.get_key(args.tenant, args.kid, provider=args.provider)
        started = time.perf_counter()
        for _ in range(10_000):
            cache.get_key(args.tenant, args.kid, provider=args.provider)
        elapsed = (time.perf_counter() - started) / 10_000
        print(f"KeyCache.get_key: {key['kid']}, {elapsed * 1e6:.2f} µs a lookup (from memory when held)")

    # 3. PyJWT: jwksd.pyjwt.PyJWKClient has the methods of jwt.PyJWKClient; existing code changes one line.
    if args.token:
        import jwt

        from jwksd.pyjwt import PyJWKClient

        with PyJWKClient(args.tenant, provider=args.provider, socket_path=args.socket) as keys:
            signing_key = keys.get_signing_key_from_jwt(args.token)
            claims = jwt.decode(args.token, signing_key.key, algorithms=[args.alg], audience=args.audience)
            print("jwt.decode:", claims)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
