#!/usr/bin/env python3
"""A small jwksd client written from Protocol/ alone: PROTOCOL.md for the frames, jwksd/v1/jwksd.proto for
the messages (jwksd/v1/jwksd_pb2.py is protoc's output; the runtime is `protobuf` from PyPI).

    python3 jwksd_client.py [--socket PATH] get --tenant acme --kid acme-0 [--provider P] [--alg ES256]
    python3 jwksd_client.py [--socket PATH] keys --tenant acme --provider login
    python3 jwksd_client.py [--socket PATH] status
    python3 jwksd_client.py [--socket PATH] health
    python3 jwksd_client.py [--socket PATH] verify --tenant acme [--provider P] [--audience A]... [TOKEN|-]

The socket defaults to $JWKSD_SOCKET, else ./jwksd.sock. A failed call prints `STATUS_NAME: message` on
standard error and exits with 10 + the status code, like the jwksd command line.

`verify` checks a compact JWS with VerifyJWT (the token from the command line, or from standard input when it
is `-` or absent) and prints its claims JSON exactly as the token carries them. A token that does not verify
is UNAUTHENTICATED: `UNAUTHENTICATED: reason: detail` on standard error, exit 26.
"""
import argparse
import itertools
import json
import os
import socket
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jwksd.v1 import jwksd_pb2 as pb  # noqa: E402

VERSION = 1
# Frame kinds (PROTOCOL.md §1).
REQUEST, RESPONSE, MESSAGE, CANCEL, GOAWAY, PING, PONG = range(1, 8)
# Flags.
COMPRESSED, ACCEPT_COMPRESSED = 0x01, 0x02
# Methods (PROTOCOL.md §3).
GET_KEY, GET_KEY_SET, LIST_TENANTS, STATUS, REFRESH, RELOAD, WATCH, HEALTH, VERIFY_JWT = range(1, 10)
# Status codes (PROTOCOL.md §5).
STATUS_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 16: "UNAUTHENTICATED",
}
HEADER = struct.Struct(">IBBBBI")  # length, version, kind, flags, code, call id
MAX_PAYLOAD = 64 * 1024 * 1024


class JWKSDError(Exception):
    """A call that did not end OK: the status code and the server's message."""

    def __init__(self, code, message):
        super().__init__(f"{STATUS_NAMES.get(code, code)}: {message}")
        self.code = code
        self.message = message


class Client:
    """One connection to jwksd; calls are made one at a time (the protocol allows pipelining, this client
    keeps it simple)."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.timeout = timeout
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as error:
            raise JWKSDError(14, f"cannot connect to {path}: {error.strerror}") from None
        self.ids = itertools.count(1)
        self.pending = b""

    def close(self):
        self.sock.close()

    def call(self, method, request, response_type, timeout_ms=None):
        """Sends one REQUEST and returns the decoded OK RESPONSE, or raises JWKSDError."""
        call_id = next(self.ids)
        payload = request.SerializeToString()
        if timeout_ms is not None:
            # The daemon answers DEADLINE_EXCEEDED itself after timeout_ms: wait a little longer for that answer.
            self.sock.settimeout(max(self.timeout, timeout_ms / 1000 + 1))
        else:
            self.sock.settimeout(self.timeout)
        self.sock.sendall(HEADER.pack(8 + len(payload), VERSION, REQUEST, ACCEPT_COMPRESSED, method, call_id) + payload)
        while True:
            kind, flags, code, frame_id, body = self._read_frame()
            if kind == PING:
                self.sock.sendall(HEADER.pack(8 + len(body), VERSION, PONG, 0, 0, frame_id) + body)
                continue
            if kind == GOAWAY:
                raise JWKSDError(code if code else 14, "GOAWAY: " + body.decode("utf-8", "replace"))
            if kind != RESPONSE or frame_id != call_id:
                continue
            if flags & COMPRESSED:
                inflater = zlib.decompressobj()
                body = inflater.decompress(body, MAX_PAYLOAD)
                if inflater.unconsumed_tail:
                    raise JWKSDError(8, "compressed reply inflates past 64 MiB")
            if code != 0:
                raise JWKSDError(code, body.decode("utf-8", "replace"))
            response = response_type()
            response.ParseFromString(body)
            return response

    def get_key(self, tenant, kid, provider="", alg="", timeout_ms=5000):
        request = pb.GetKeyRequest(tenant=tenant, provider=provider, kid=kid, alg=alg, timeout_ms=timeout_ms)
        return self.call(GET_KEY, request, pb.GetKeyResponse, timeout_ms=timeout_ms)

    def get_key_set(self, tenant, provider):
        return self.call(GET_KEY_SET, pb.GetKeySetRequest(tenant=tenant, provider=provider), pb.GetKeySetResponse)

    def status(self, tenant=""):
        return self.call(STATUS, pb.StatusRequest(tenant=tenant), pb.StatusResponse)

    def health(self):
        return self.call(HEALTH, pb.HealthRequest(), pb.HealthResponse)

    def verify(self, tenant, token, provider="", audiences=(), timeout_ms=5000):
        """VerifyJWT: the VerifyJWTResponse of a token that verifies; JWKSDError code 16 (UNAUTHENTICATED,
        message `reason: detail`) for one that does not."""
        request = pb.VerifyJWTRequest(
            tenant=tenant, provider=provider, token=token, audiences=list(audiences), timeout_ms=timeout_ms)
        return self.call(VERIFY_JWT, request, pb.VerifyJWTResponse, timeout_ms=timeout_ms)

    def _read_frame(self):
        header = self._read_exactly(4)
        (length,) = struct.unpack(">I", header)
        if length < 8 or length > MAX_PAYLOAD + 8:
            raise JWKSDError(8, f"frame length {length} is out of range")
        rest = self._read_exactly(length)
        version, kind, flags, code, call_id = struct.unpack(">BBBBI", rest[:8])
        if version != VERSION:
            raise JWKSDError(9, f"server speaks protocol version {version}")
        return kind, flags, code, call_id, rest[8:]

    def _read_exactly(self, count):
        while len(self.pending) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise JWKSDError(14, "the daemon closed the connection")
            self.pending += chunk
        data, self.pending = self.pending[:count], self.pending[count:]
        return data


def main(argv=None):
    parser = argparse.ArgumentParser(description="Query a running jwksd over its Unix socket.")
    parser.add_argument("--socket", default=os.environ.get("JWKSD_SOCKET", "./jwksd.sock"))
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
        "--audience", action="append", default=[], help="check these audiences instead of the configured ones")
    verify.add_argument("token", nargs="?", default="-", help="the compact JWS; - or absent: read standard input")
    args = parser.parse_args(argv)

    try:
        client = Client(args.socket)
        try:
            if args.command == "get":
                key = client.get_key(args.tenant, args.kid, provider=args.provider, alg=args.alg)
                print(key.jwk_json.decode("utf-8"))
                if key.stale:
                    print(f"warning: {args.tenant}/{key.provider} is served stale", file=sys.stderr)
            elif args.command == "keys":
                print(client.get_key_set(args.tenant, args.provider).jwks_json.decode("utf-8"))
            elif args.command == "status":
                for provider in client.status().providers:
                    print(json.dumps({
                        "tenant": provider.tenant, "provider": provider.provider, "standing": provider.standing,
                        "keys": provider.key_count, "last_error": provider.last_error,
                    }))
            elif args.command == "health":
                health = client.health()
                print(f"serving: {health.serving} ({health.ready}/{health.providers} providers ready)")
                return 0 if health.serving else 1
            elif args.command == "verify":
                token = sys.stdin.read().strip() if args.token == "-" else args.token
                verified = client.verify(args.tenant, token, provider=args.provider, audiences=args.audience)
                sys.stdout.buffer.write(verified.claims + b"\n")
                sys.stdout.flush()
                if verified.stale:
                    print(f"warning: {args.tenant}/{verified.provider} is served stale", file=sys.stderr)
        finally:
            client.close()
    except JWKSDError as error:
        print(error, file=sys.stderr)
        return 10 + error.code
    except socket.timeout:
        print("DEADLINE_EXCEEDED: no reply in time", file=sys.stderr)
        return 14
    return 0


if __name__ == "__main__":
    sys.exit(main())
