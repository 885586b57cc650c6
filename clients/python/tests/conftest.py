"""Fixtures: a live jwksd (``$JWKSD_BIN``, default ``<repo>/.build/debug/jwksd``) on a config in a temporary
directory, key files written with ``cryptography``-generated keys, and helpers to rotate them."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

sys.dont_write_bytecode = True

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent  # clients/python
# The sources next to the tests, whatever copy is installed (JWKSD_TEST_INSTALLED=1: the installed one).
if os.environ.get("JWKSD_TEST_INSTALLED") != "1":
    sys.path.insert(0, str(PACKAGE))

import jwksd  # noqa: E402
from fake import FakeConnection, FakeServer  # noqa: E402

REPOSITORY = PACKAGE.parent.parent
JWKSD_BIN = os.environ.get("JWKSD_BIN") or str(REPOSITORY / ".build" / "debug" / "jwksd")


def pytest_report_header(config: Any) -> str:
    return f"jwksd binary: {JWKSD_BIN}; jwksd package: {os.path.dirname(jwksd.__file__)}"


# --------------------------------------------------------------------------------------------------------------
# Keys


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int, size: Optional[int] = None) -> str:
    return b64u(value.to_bytes(size or (value.bit_length() + 7) // 8, "big"))


class Key:
    """A private key and its public JWK."""

    def __init__(self, private: Any, jwk: Dict[str, Any], alg: str) -> None:
        self.private = private
        self.jwk = jwk
        self.alg = alg

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    def token(self, claims: Dict[str, Any], **headers: Any) -> str:
        import jwt

        header = {"kid": self.kid}
        header.update(headers)
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=header)


def rsa_key(kid: str, alg: Optional[str] = "RS256", use: Optional[str] = "sig", bits: int = 2048) -> Key:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    numbers = private.public_key().public_numbers()
    jwk: Dict[str, Any] = {"kty": "RSA", "kid": kid, "n": _uint(numbers.n), "e": _uint(numbers.e)}
    if use:
        jwk["use"] = use
    if alg:
        jwk["alg"] = alg
    return Key(private, jwk, alg or "RS256")


_CURVES = {"P-256": (32, "ES256"), "P-384": (48, "ES384"), "P-521": (66, "ES512")}


def ec_key(kid: str, crv: str = "P-256", alg: Optional[str] = "default", use: Optional[str] = "sig") -> Key:
    from cryptography.hazmat.primitives.asymmetric import ec

    curve = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}[crv]()
    private = ec.generate_private_key(curve)
    numbers = private.public_key().public_numbers()
    size, default_alg = _CURVES[crv]
    jwk: Dict[str, Any] = {"kty": "EC", "kid": kid, "crv": crv}
    jwk.update(x=_uint(numbers.x, size), y=_uint(numbers.y, size))
    if use:
        jwk["use"] = use
    if alg == "default":
        alg = default_alg
    if alg:
        jwk["alg"] = alg
    return Key(private, jwk, default_alg)


def ed25519_key(kid: str, alg: Optional[str] = "EdDSA", use: Optional[str] = "sig") -> Key:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk: Dict[str, Any] = {"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64u(raw)}
    if use:
        jwk["use"] = use
    if alg:
        jwk["alg"] = alg
    return Key(private, jwk, "EdDSA")


def x25519_jwk(kid: str) -> Dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519

    raw = x25519.X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {"kty": "OKP", "kid": kid, "crv": "X25519", "x": b64u(raw)}


def write_jwks(path: Path, keys: List[Dict[str, Any]]) -> None:
    """Writes a key file atomically (the daemon never reads half a file)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"keys": keys}))
    os.replace(temporary, path)


# --------------------------------------------------------------------------------------------------------------
# The daemon


class Daemon:
    """One jwksd serving ``config`` from ``directory`` (socket ``directory/jwksd.sock``)."""

    def __init__(self, directory: Path, config: str) -> None:
        self.directory = directory
        self.config = directory / "jwksd.yaml"
        self.config.write_text(config)
        self.socket = str(directory / "jwksd.sock")
        self.log = directory / "jwksd.log"
        self.process: Optional[subprocess.Popen] = None

    def start(self, wait: bool = True) -> "Daemon":
        if not os.access(JWKSD_BIN, os.X_OK):
            pytest.skip(f"no jwksd binary at {JWKSD_BIN} (set JWKSD_BIN or build it)")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [JWKSD_BIN, "serve", "--config", str(self.config)], stdout=log, stderr=log, cwd=self.directory
            )
        if wait:
            self.wait_serving()
        return self

    def wait_serving(self, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        with jwksd.Client(self.socket, timeout=1.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"jwksd exited with {self.process.returncode}:\n{self.log.read_text()}")
                try:
                    if client.health().serving:
                        return
                except jwksd.Error:
                    pass
                time.sleep(0.01)
        raise AssertionError(f"jwksd not serving after {seconds} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                os.kill(process.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def signal(self, number: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, number)

    def client(self, **options: Any) -> jwksd.Client:
        return jwksd.Client(self.socket, **options)

    def refresh(self, tenant: str, provider: Optional[str] = None) -> None:
        with self.client() as client:
            client.refresh(tenant, provider)


@pytest.fixture
def daemon_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Daemon]]:
    """make(config, files={name: keys}) -> a started Daemon in a fresh directory; stopped after the test."""
    daemons: List[Daemon] = []

    def make(config: str, files: Optional[Dict[str, List[Dict[str, Any]]]] = None, start: bool = True) -> Daemon:
        directory = _short_directory(tmp_path_factory)
        for name, keys in (files or {}).items():
            write_jwks(directory / name, keys)
        daemon = Daemon(directory, config)
        daemons.append(daemon)
        return daemon.start() if start else daemon

    yield make
    for daemon in daemons:
        daemon.stop()


def _short_directory(factory: pytest.TempPathFactory) -> Path:
    # Unix socket paths are limited to 107 bytes: pytest's temporary paths can be longer.
    base = factory.getbasetemp()
    if len(str(base)) > 60:
        return Path(tempfile.mkdtemp(prefix="jwksd-py-"))
    return Path(tempfile.mkdtemp(prefix="d", dir=base))


@pytest.fixture
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh directory short enough for Unix socket paths (the fake servers' sockets)."""
    return _short_directory(tmp_path_factory)


@pytest.fixture
def serve(directory: Path) -> Iterator[Callable[[Callable[[FakeConnection], None]], FakeServer]]:
    """make(handler) -> a FakeServer on a socket in ``directory`` running ``handler`` per connection; closed
    after the test."""
    servers: List[FakeServer] = []

    def make(handler: Callable[[FakeConnection], None]) -> FakeServer:
        server = FakeServer(directory, handler)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


# --------------------------------------------------------------------------------------------------------------
# The shared daemon of the read-only tests

ISSUER = "https://login.acme.example"
AUDIENCE = "api://acme"


class Shared:
    def __init__(self, daemon: Daemon, keys: Dict[str, Key]) -> None:
        self.daemon = daemon
        self.keys = keys
        self.socket = daemon.socket


SHARED_CONFIG = f"""\
version: 1
server: {{ socket: ./jwksd.sock, compress_min_bytes: 64 }}
defaults: {{ min_ttl: 1s, kid_miss_cooldown: 1s }}
tenants:
  acme:
    providers:
      login:
        file: ./login.json
        verify: {{ issuer: "{ISSUER}", audiences: ["{AUDIENCE}"] }}
      backup:
        file: ./backup.json
  secret:
    allowed_uids: [4242]
    providers:
      p: {{ file: ./login.json }}
  broken:
    providers:
      missing: {{ file: ./missing.json }}
"""


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """A daemon the read-only tests share: tenant acme (providers login and backup, in that order), secret
    (not readable by us), broken (a provider whose file is missing)."""
    keys = {
        "rsa": rsa_key("rsa-1"),
        "ec": ec_key("ec-1"),
        "ed": ed25519_key("ed-1"),
        "backup": ec_key("backup-1"),
        "shared-login": ec_key("shared"),  # the same kid in both providers: login's comes first
        "shared-backup": ec_key("shared"),
    }
    directory = _short_directory(tmp_path_factory)
    write_jwks(
        directory / "login.json",
        [keys["rsa"].jwk, keys["ec"].jwk, keys["ed"].jwk, keys["shared-login"].jwk],
    )
    write_jwks(directory / "backup.json", [keys["backup"].jwk, keys["shared-backup"].jwk])
    daemon = Daemon(directory, SHARED_CONFIG).start()
    try:
        yield Shared(daemon, keys)
    finally:
        daemon.stop()


def eventually(condition: Callable[[], Any], seconds: float = 5.0, what: str = "condition") -> Any:
    """Polls ``condition`` until it is truthy (bounded), returning its value."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
