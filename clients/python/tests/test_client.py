"""jwksd.Client against a live daemon: every method, every error subclass, compression, verify, watch."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import AUDIENCE, ISSUER, ec_key, eventually, rsa_key, write_jwks

import jwksd
from jwksd import _wire


def test_socket_path_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWKSD_SOCKET", raising=False)
    assert jwksd.Client().socket_path == "./jwksd.sock"
    monkeypatch.setenv("JWKSD_SOCKET", "/run/jwksd/x.sock")
    assert jwksd.Client().socket_path == "/run/jwksd/x.sock"
    assert jwksd.Client("/other.sock").socket_path == "/other.sock"


def test_get_key(shared) -> None:
    keys = shared.keys
    with jwksd.Client(shared.socket) as client:
        assert client.get_key("acme", "rsa-1") == keys["rsa"].jwk
        assert client.get_key("acme", "ec-1", provider="login", alg="ES256") == keys["ec"].jwk
        assert client.get_key("acme", "ed-1", alg="EdDSA") == keys["ed"].jwk
        # provider None: config order (login before backup), so login's "shared" key.
        assert client.get_key("acme", "shared") == keys["shared-login"].jwk
        assert client.get_key("acme", "shared", provider="backup") == keys["shared-backup"].jwk
        assert client.get_key("acme", "backup-1") == keys["backup"].jwk
        info = client.get_key_info("acme", "rsa-1")
        assert (info.provider, info.kid, info.kty, info.alg, info.use, info.stale, info.matches) == (
            "login", "rsa-1", "RSA", "RS256", "sig", False, 1)
        assert json.loads(info.jwk_json) == keys["rsa"].jwk and info.expires_at >= info.fetched_at > 0


def test_errors(shared) -> None:
    with jwksd.Client(shared.socket) as client:
        with pytest.raises(jwksd.NotFound) as missing:
            client.get_key("acme", "nope", provider="login")
        assert missing.value.status == "NOT_FOUND" and missing.value.code == 5
        assert str(missing.value).startswith('NOT_FOUND: kid "nope"')
        with pytest.raises(jwksd.NotFound):
            client.get_key("nobody", "rsa-1")
        with pytest.raises(jwksd.NotFound):  # a registered alg no key with the kid fits
            client.get_key("acme", "rsa-1", alg="ES256")
        with pytest.raises(jwksd.InvalidArgument) as bad_alg:  # not a registered algorithm
            client.get_key("acme", "rsa-1", alg="HS256")
        assert bad_alg.value.code == 3 and bad_alg.value.status == "INVALID_ARGUMENT"
        with pytest.raises(jwksd.InvalidArgument):
            client.get_key("acme", "k" * 257)
        with pytest.raises(jwksd.InvalidArgument):
            client.get_key("bad tenant!", "x")
        with pytest.raises(jwksd.InvalidArgument):  # cannot even be encoded as UTF-8
            client.get_key("acme", "\ud800")
        # A tenant we may not read looks like one that does not exist.
        with pytest.raises(jwksd.NotFound) as secret:
            client.get_key("secret", "rsa-1")
        assert secret.value.message == 'unknown tenant "secret"'
        # No servable keys: UNAVAILABLE with the last fetch error.
        with pytest.raises(jwksd.Unavailable) as broken:
            client.get_key("broken", "x", provider="missing")
        assert broken.value.code == 14
        assert isinstance(broken.value, jwksd.Error) and not isinstance(broken.value, jwksd.NotFound)
    with pytest.raises(jwksd.Unavailable) as absent:
        jwksd.Client(os.path.join(os.path.dirname(shared.socket), "none.sock")).health()
    assert absent.value.message.startswith("cannot connect to")


def test_get_key_set_compressed(shared) -> None:
    with jwksd.Client(shared.socket) as client:
        document = client.get_key_set("acme", "login")
        assert [key["kid"] for key in document["keys"]] == ["rsa-1", "ec-1", "ed-1", "shared"]
        info = client.get_key_set_info("acme", "login")
        assert (info.key_count, info.dropped_count, info.provider) == (4, 0, "login")
        with pytest.raises(jwksd.NotFound):
            client.get_key_set("acme", "nope")
    # The same call on a raw connection: the reply really is compressed (compress_min_bytes: 64).
    connection = _wire.Connection(shared.socket, 5.0)
    try:
        payload = jwksd.client.pb.GetKeySetRequest(tenant="acme", provider="login").SerializeToString()
        connection.send(_wire.frame(_wire.REQUEST, _wire.ACCEPT_COMPRESSED, _wire.GET_KEY_SET, 9, payload))
        kind, flags, code, call_id, body = connection.read_frame(time.monotonic() + 5)
        assert (kind, code, call_id) == (_wire.RESPONSE, 0, 9)
        assert flags & _wire.COMPRESSED and body[:1] == b"\x78"
        reply = jwksd.client.pb.GetKeySetResponse.FromString(_wire.inflate(body))
        assert json.loads(reply.jwks_json) == document
    finally:
        connection.close()


def test_list_status_health(shared) -> None:
    with jwksd.Client(shared.socket) as client:
        assert client.list_tenants() == {"acme": ["login", "backup"], "broken": ["missing"]}
        status = client.status()
        assert status.config_generation >= 1
        names = [(p.tenant, p.provider) for p in status.providers]
        assert names == [("acme", "login"), ("acme", "backup"), ("broken", "missing")]
        login = status.providers[0]
        assert (login.standing, login.key_count) == ("fresh", 4) and login.source.endswith("/login.json")
        assert status.providers[2].last_error
        assert [p.provider for p in client.status("acme").providers] == ["login", "backup"]
        with pytest.raises(jwksd.NotFound):
            client.status("secret")
        health = client.health()
        assert health.serving and health.providers == 3 and health.ready == 2 and health.loading == []


def test_verify(shared) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 600, "iat": now}
    with jwksd.Client(shared.socket) as client:
        for name in ("rsa", "ec", "ed"):
            key = shared.keys[name]
            verified = client.verify(key.token(claims), "acme", provider="login")
            assert isinstance(verified, jwksd.Verified)
            assert verified.claims == claims
            assert verified.header["kid"] == key.kid and verified.header["alg"] == key.alg
            assert (verified.provider, verified.kid, verified.alg, verified.stale) == ("login", key.kid, key.alg, False)
            assert json.loads(verified.raw_claims) == claims
        # Refusals: UNAUTHENTICATED, parsed into reason and detail.
        cases = {
            "expired": shared.keys["ec"].token(dict(claims, exp=now - 3600)),
            "bad_audience": shared.keys["ec"].token(dict(claims, aud="api://other")),
            "bad_issuer": shared.keys["ec"].token(dict(claims, iss="https://evil.example")),
            "bad_signature": ec_key("ec-1").token(claims),  # the right kid, another key
            "malformed": "not.a.token",
        }
        for reason, token in cases.items():
            with pytest.raises(jwksd.InvalidToken) as refused:
                client.verify(token, "acme", provider="login")
            error = refused.value
            assert (error.code, error.status, error.reason) == (16, "UNAUTHENTICATED", reason), error
            assert error.detail and str(error) == f"UNAUTHENTICATED: {reason}: {error.detail}"
        # The call's audiences replace the configured ones.
        other = shared.keys["rsa"].token(dict(claims, aud="api://other"))
        assert client.verify(other, "acme", provider="login", audiences=["api://other"]).claims["aud"] == "api://other"
        # A provider without verify.audiences and a call naming none: INVALID_ARGUMENT.
        with pytest.raises(jwksd.InvalidArgument):
            client.verify(shared.keys["backup"].token(claims), "acme", provider="backup")


def subscribe(daemon, events: list, tenant: str, provider: str, keys: list) -> None:
    """A Watch sends no initial state and subscribes asynchronously: rotates the provider (alternating two
    documents) until the Watch reports it, which proves it is subscribed."""
    for attempt in range(50):
        count = len(events)
        write_jwks(daemon.directory / f"{provider}.json", keys if attempt % 2 == 0 else keys[:1])
        daemon.refresh(tenant, provider)
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            if len(events) > count:
                return
            time.sleep(0.005)
    raise AssertionError("the Watch never reported a rotation")


def test_watch_events_on_rotation(daemon_factory) -> None:
    first, second = ec_key("w-1"), ec_key("w-2")
    daemon = daemon_factory(
        "version: 1\nserver: { socket: ./jwksd.sock }\ndefaults: { min_ttl: 1h, default_ttl: 1h }\n"
        "tenants:\n  t:\n    providers:\n      p: { file: ./p.json }\n      q: { file: ./q.json }\n",
        files={"p.json": [first.jwk], "q.json": [second.jwk]},
    )
    client = daemon.client()
    events: list = []
    with client.watch(providers=["t/p"]) as watch:
        reader = threading.Thread(target=lambda: events.extend(watch), daemon=True)
        reader.start()
        subscribe(daemon, events, "t", "p", [second.jwk, first.jwk])
        count = len(events)
        write_jwks(daemon.directory / "q.json", [first.jwk])  # not followed
        daemon.refresh("t", "q")
        write_jwks(daemon.directory / "p.json", [first.jwk, second.jwk])
        daemon.refresh("t", "p")
        eventually(lambda: len(events) > count, what="a KEYS_CHANGED event")
        time.sleep(0.1)  # anything else would have arrived by now
    reader.join(5)
    assert not reader.is_alive(), "closing the Watch ends the iteration"
    assert len(events) == count + 1 and all(event.provider == "p" for event in events)
    event = events[-1]
    assert isinstance(event, jwksd.WatchEvent)
    assert (event.tenant, event.provider, event.kind, sorted(event.kids)) == ("t", "p", "KEYS_CHANGED", ["w-1", "w-2"])
    assert event.key_count == 2 and event.at > 0

    # A bad selector ends the Watch at once; iterating raises the status.
    with pytest.raises(jwksd.NotFound):
        next(client.watch(providers=["t/nope"]))
    with pytest.raises(jwksd.InvalidArgument):
        next(client.watch(providers=["not a selector"]))

    # The daemon stopping ends a Watch with UNAVAILABLE (or a closed connection: Unavailable too).
    watch = client.watch()
    time.sleep(0.1)
    daemon.stop()
    with pytest.raises(jwksd.Unavailable):
        next(watch)
    watch.close()
    client.close()


def test_watch_permission_denied_on_revocation(daemon_factory) -> None:
    first, second = ec_key("k"), ec_key("l")
    config = (
        "version: 1\nserver: {{ socket: ./jwksd.sock }}\ndefaults: {{ min_ttl: 1h, default_ttl: 1h }}\n"
        "tenants:\n  t:\n{access}    providers:\n      p: {{ file: ./p.json }}\n"
    )
    daemon = daemon_factory(config.format(access=""), files={"p.json": [first.jwk]})
    with daemon.client() as client:
        watch = client.watch(tenants=["t"])
        events: list = []
        outcome: list = []

        def read() -> None:
            try:
                events.extend(watch)
            except jwksd.Error as error:
                outcome.append(error)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        subscribe(daemon, events, "t", "p", [second.jwk, first.jwk])
        daemon.config.write_text(config.format(access="    allowed_uids: [4242]\n"))
        assert client.reload().ok
        reader.join(5)
        assert len(outcome) == 1 and isinstance(outcome[0], jwksd.PermissionDenied), outcome
        assert outcome[0].code == 7
        watch.close()


def test_refresh_reload_and_permission_denied(daemon_factory) -> None:
    key = ec_key("k")
    daemon = daemon_factory(
        "version: 1\nserver: { socket: ./jwksd.sock, admin_uids: [4242] }\n"
        "tenants:\n  t:\n    providers:\n      p: { file: ./p.json }\n",
        files={"p.json": [key.jwk]},
    )
    with daemon.client() as client:
        with pytest.raises(jwksd.PermissionDenied) as denied:
            client.refresh("t")
        assert denied.value.status == "PERMISSION_DENIED" and "admin" in denied.value.message
        with pytest.raises(jwksd.PermissionDenied):
            client.reload()
        # Other errors without a subclass of their own are plain jwksd.Error.
        assert type(jwksd.errors.error_for(8, "x")) is jwksd.Error


def test_reload_names_server_settings_waiting_for_a_restart(daemon_factory) -> None:
    key = ec_key("k")
    config = (
        "version: 1\nserver: {{ socket: ./jwksd.sock{server} }}\n"
        "tenants:\n  t:\n    providers:\n      p: {{ file: ./p.json }}\n"
    )
    daemon = daemon_factory(config.format(server=""), files={"p.json": [key.jwk]})
    with daemon.client() as client:
        daemon.config.write_text(config.format(server=", max_connections: 10, http: { listen: 127.0.0.1:0 }"))
        result = client.reload()
        assert result.ok and result.restart_pending == ("max_connections", "http")
        last = client.status().last_reload
        assert last is not None and last.restart_pending == ("max_connections", "http")
        daemon.config.write_text(config.format(server=""))
        assert client.reload().restart_pending == ()


def test_refresh_as_admin(shared) -> None:
    with jwksd.Client(shared.socket) as client:
        statuses = client.refresh("acme", "login")
        assert [(s.tenant, s.provider, s.key_count) for s in statuses] == [("acme", "login", 4)]
        result = client.reload()
        assert result.ok and result.generation >= 1


class _Hanging(BaseHTTPRequestHandler):
    """Serves a JWKS once, then holds every request until released."""

    document = b""
    served = 0
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802
        type(self).served += 1
        if type(self).served > 1:
            self.release.wait(10)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.document)))
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args: object) -> None:
        pass


def test_deadline_exceeded_from_the_daemon(daemon_factory) -> None:
    key = rsa_key("r-1")
    _Hanging.document = json.dumps({"keys": [key.jwk]}).encode()
    _Hanging.served = 0
    _Hanging.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hanging)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        daemon = daemon_factory(
            "version: 1\nserver: { socket: ./jwksd.sock }\n"
            "defaults: { require_https: false, allow_private_networks: true, kid_miss_cooldown: 1s }\n"
            "tenants:\n  t:\n    providers:\n"
            f"      slow: {{ jwks_uri: \"http://127.0.0.1:{server.server_port}/jwks\" }}\n"
        )
        with daemon.client(timeout=5.0) as client:
            assert client.get_key("t", "r-1") == key.jwk
            time.sleep(1.1)  # past the kid-miss cooldown: an unknown kid refetches, and the fetch hangs
            started = time.monotonic()
            with pytest.raises(jwksd.DeadlineExceeded) as late:
                client.get_key("t", "unknown", timeout=0.3)
            elapsed = time.monotonic() - started
            assert late.value.code == 4 and late.value.status == "DEADLINE_EXCEEDED"
            assert 0.25 < elapsed < 2.0, elapsed
    finally:
        _Hanging.release.set()
        server.shutdown()
        server.server_close()


def test_reconnects_after_restart(daemon_factory) -> None:
    key = ec_key("k")
    daemon = daemon_factory(
        "version: 1\nserver: { socket: ./jwksd.sock }\ntenants:\n  t:\n    providers:\n      p: { file: ./p.json }\n",
        files={"p.json": [key.jwk]},
    )
    client = daemon.client()
    threads_done = []

    def use() -> None:
        assert client.get_key("t", "k") == key.jwk
        threads_done.append(1)

    workers = [threading.Thread(target=use) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(threads_done) == 4 and len(client._idle) >= 1  # pooled connections, now stale
    daemon.stop()
    with pytest.raises(jwksd.Unavailable):
        client.get_key("t", "k")
    daemon.start()
    assert client.get_key("t", "k") == key.jwk  # a new connection, no error surfaced
    client.close()
    with pytest.raises(jwksd.Unavailable):
        client.health()


def test_idle_connection_closed_by_the_daemon_is_retried(daemon_factory) -> None:
    key = ec_key("k")
    daemon = daemon_factory(
        "version: 1\nserver: { socket: ./jwksd.sock, idle_timeout: 1s }\n"
        "tenants:\n  t:\n    providers:\n      p: { file: ./p.json }\n",
        files={"p.json": [key.jwk]},
    )
    with daemon.client() as client:
        assert client.get_key("t", "k") == key.jwk
        time.sleep(1.5)  # the daemon sends GOAWAY OK and closes the pooled connection
        assert client.get_key("t", "k") == key.jwk


def test_context_managers(shared) -> None:
    with jwksd.Client(shared.socket) as client:
        assert client.health().serving
    with pytest.raises(jwksd.Unavailable):
        client.health()
    with jwksd.KeyCache(shared.socket, tenants=["acme"]) as cache:
        assert cache.wait_ready(5)
        assert cache.get_key("acme", "rsa-1") == shared.keys["rsa"].jwk
        thread = cache._thread
    assert thread is not None and not thread.is_alive()
    with jwksd.Client(shared.socket).watch() as watch:
        pass
    with pytest.raises(StopIteration):
        next(watch)


def test_ping_is_answered(shared) -> None:
    connection = _wire.Connection(shared.socket, 5.0)
    try:
        connection.send(_wire.frame(_wire.PING, 0, 0, 0, b"12345678"))
        kind, _, _, call_id, body = connection.read_frame(time.monotonic() + 5)
        assert (kind, call_id, body) == (_wire.PONG, 0, b"12345678")
    finally:
        connection.close()


def test_golden_vectors_decode() -> None:
    vectors = Path(__file__).resolve().parents[3] / "Protocol" / "vectors"
    if not vectors.is_dir():
        pytest.skip("Protocol/vectors not found (tests run outside the repository)")
    for path in sorted(vectors.glob("*.hex")):
        data = bytes.fromhex("".join(line for line in path.read_text().splitlines() if not line.startswith("#")))
        left, right = socket.socketpair()
        try:
            left.sendall(data)
            connection = _wire.Connection.__new__(_wire.Connection)
            connection.path, connection.sock, connection._buffer = str(path), right, b""
            connection._timeout, connection._next_id = -1.0, 1
            kind, flags, code, call_id, body = connection.read_frame(time.monotonic() + 1)
            assert _wire.frame(kind, flags, code, call_id, body) == data, path.name
            if flags & _wire.COMPRESSED:
                assert jwksd.client.pb.GetKeySetResponse.FromString(_wire.inflate(body)).key_count == 12
        finally:
            left.close()
            right.close()
