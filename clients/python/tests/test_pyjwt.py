"""jwksd.pyjwt.PyJWKClient as a drop-in for PyJWT's jwt.PyJWKClient."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from conftest import AUDIENCE, ISSUER, ec_key, rsa_key

jwt = pytest.importorskip("jwt")

import jwksd  # noqa: E402
import jwksd.pyjwt  # noqa: E402


@pytest.fixture(scope="module")
def jwks_url(shared) -> Iterator[str]:
    """The shared daemon's login.json over HTTP, for PyJWT's own PyJWKClient."""
    document = (Path(shared.daemon.directory) / "login.json").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()
    server.server_close()


def claims() -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 600}


@pytest.mark.parametrize("cache", [True, False])
def test_decode_with_keys_from_jwksd(shared, cache: bool) -> None:
    expected = claims()
    with jwksd.pyjwt.PyJWKClient("acme", provider="login", socket_path=shared.socket, cache=cache) as client:
        for name in ("rsa", "ec", "ed"):
            key = shared.keys[name]
            token = key.token(expected)
            signing_key = client.get_signing_key_from_jwt(token)
            assert isinstance(signing_key, jwt.PyJWK)
            assert signing_key.key_id == key.kid and signing_key.algorithm_name == key.alg
            decoded = jwt.decode(token, signing_key.key, algorithms=[key.alg], audience=AUDIENCE, issuer=ISSUER)
            assert decoded == expected
            # PyJWK objects are cached per key: the same object, no second parse.
            assert client.get_signing_key_from_jwt(token) is signing_key
            assert client.get_signing_key(key.kid) is signing_key
        # A signature by another key with the same kid fails in PyJWT, as it would with any key source.
        forged = ec_key("ec-1").token(expected)
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(forged, client.get_signing_key_from_jwt(forged).key, algorithms=["ES256"], audience=AUDIENCE)


def test_pyjwt_exceptions(shared, tmp_path: Path) -> None:
    with jwksd.pyjwt.PyJWKClient("acme", socket_path=shared.socket) as client:
        unknown = ec_key("who").token(claims())
        with pytest.raises(jwt.PyJWKClientError) as error:
            client.get_signing_key_from_jwt(unknown)
        assert str(error.value) == 'Unable to find a signing key that matches: "who"'
        with pytest.raises(jwt.PyJWKClientError):
            no_kid = jwt.encode(claims(), shared.keys["ec"].private, algorithm="ES256")
            client.get_signing_key_from_jwt(no_kid)
        with pytest.raises(jwt.DecodeError):
            client.get_signing_key_from_jwt("not a token")
        with pytest.raises(jwt.exceptions.PyJWKClientError):
            client.get_signing_key("x" * 300)
        # provider None: the tenant's providers in config order, like GetKey.
        assert client.get_signing_key("backup-1").key_id == "backup-1"
    with jwksd.pyjwt.PyJWKClient("nobody", socket_path=shared.socket, cache=False) as client:
        with pytest.raises(jwt.PyJWKClientError):
            client.get_signing_key("k")
        with pytest.raises(jwt.PyJWKClientError):
            client.get_signing_keys()
    with jwksd.pyjwt.PyJWKClient("acme", socket_path=str(tmp_path / "none.sock"), cache=False) as client:
        with pytest.raises(jwt.PyJWKClientConnectionError):  # a PyJWKClientError too
            client.get_signing_key("k")


def test_shapes_match_pyjwt(shared, jwks_url: str) -> None:
    theirs = jwt.PyJWKClient(jwks_url)
    with jwksd.pyjwt.PyJWKClient("acme", provider="login", socket_path=shared.socket) as ours:
        for mine, reference in ((ours.get_signing_keys(), theirs.get_signing_keys()),
                                (ours.get_jwk_set().keys, theirs.get_jwk_set().keys)):
            assert isinstance(mine, list) and all(isinstance(key, jwt.PyJWK) for key in mine)
            assert [(k.key_id, k.key_type, k.algorithm_name, k.public_key_use) for k in mine] == [
                (k.key_id, k.key_type, k.algorithm_name, k.public_key_use) for k in reference
            ]
        assert isinstance(ours.get_jwk_set(), jwt.PyJWKSet)
        assert ours.fetch_data() == theirs.fetch_data()
        token = shared.keys["rsa"].token(claims())
        assert ours.get_signing_key_from_jwt(token).key.public_numbers() == (
            theirs.get_signing_key_from_jwt(token).key.public_numbers()
        )
        assert ours.match_kid(ours.get_signing_keys(), "ec-1").key_id == "ec-1"


def test_keys_the_daemon_does_not_serve_are_left_out(daemon_factory) -> None:
    good, encryption = ec_key("good"), rsa_key("enc", alg="RSA-OAEP", use="enc")
    daemon = daemon_factory(
        "version: 1\nserver: { socket: ./jwksd.sock }\ntenants:\n  t:\n    providers:\n      p: { file: ./p.json }\n",
        files={"p.json": [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0c2VjcmV0"}, good.jwk, encryption.jwk]},
    )
    for cache in (True, False):
        with jwksd.pyjwt.PyJWKClient("t", socket_path=daemon.socket, cache=cache) as client:
            # PyJWT itself would turn the symmetric key into an HS256 key: jwksd never serves it.
            assert [key["kid"] for key in client.fetch_data()["keys"]] == ["good", "enc"]
            assert [key.key_id for key in client.get_signing_keys()] == ["good"]
            for kid in ("sym", "enc"):  # not served / not a signing key
                with pytest.raises(jwt.PyJWKClientError):
                    client.get_signing_key(kid)
            assert client.get_signing_key("good").key_id == "good"


def test_shared_key_cache(shared) -> None:
    with jwksd.KeyCache(shared.socket) as cache:
        first = jwksd.pyjwt.PyJWKClient("acme", provider="login", cache=cache)
        second = jwksd.pyjwt.PyJWKClient("acme", provider="backup", cache=cache)
        assert first.get_signing_key("rsa-1").key_id == "rsa-1"
        assert second.get_signing_key("shared").key.public_numbers().x == int.from_bytes(
            jwt.utils.base64url_decode(shared.keys["shared-backup"].jwk["x"]), "big"
        )
        first.close()  # does not close a cache it was given
        assert cache.get_key("acme", "rsa-1")["kid"] == "rsa-1"
