#!/usr/bin/env python3
"""Mints a key set and a list of JWTs, valid and broken, for checking jwksd's VerifyJWT (method 9) against
tokens made by two independent libraries, PyJWT and joserfc (keys from `cryptography`).

    .build-python/bin/python3 scripts/mint-tokens.py OUTDIR

(scripts/python-env.sh makes .build-python with examples/python/requirements.txt.) Writes:

- OUTDIR/jwks.json: the public keys, fresh on every run, each with a kid. Most carry an `alg`, which pins
  them; `rsa-noalg` (RSA) and `p256-noalg` (EC P-256) carry none, so their type and curve decide what they
  verify (RSA: RS*/PS*; P-256: ES256); `rsa-enc` is `use: enc` and never verifies.
- OUTDIR/cases.json: a list of {"name", "token", "expect"}; `expect` is "ok" or the VerifyJWT refusal reason
  (the first word of the UNAUTHENTICATED text). Optional members: "audiences", the call's audiences when the
  case needs others than the configured ones; "expect_unnamed", the answer when the call names no provider
  and jwksd chooses it by the token's `iss` (given only where it differs from "expect", which is the answer
  when the call names the provider).

The expectations follow Sources/JWS (CompactJWS, TokenVerifier, VerificationKey, ClaimsCheck) with this
provider: `file: jwks.json`, `verify: {issuer: "https://mint.example", audiences: ["api://mint"]}` and the
defaults (leeway 60 s, required_claims [exp], no typ check, max_token_bytes 16384). Tokens carry iss, aud,
exp (now + 3600), iat and sub unless a case says otherwise; they stay valid for about an hour.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import warnings

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

ISSUER = "https://mint.example"
AUDIENCE = "api://mint"
MAX_TOKEN_BYTES = 16_384
CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
EC_SIZES = {"P-256": 32, "P-384": 48, "P-521": 66}

# (kid, algorithm its tokens use, key type, curve, the JWK's own alg or None, use)
KEYS = [
    ("rs256", "RS256", "RSA", None, "RS256", "sig"),
    ("rs384", "RS384", "RSA", None, "RS384", "sig"),
    ("rs512", "RS512", "RSA", None, "RS512", "sig"),
    ("rsa-noalg", "PS256", "RSA", None, None, None),
    ("ps384", "PS384", "RSA", None, "PS384", "sig"),
    ("ps512", "PS512", "RSA", None, "PS512", "sig"),
    ("p256-noalg", "ES256", "EC", "P-256", None, None),
    ("es384", "ES384", "EC", "P-384", "ES384", "sig"),
    ("es512", "ES512", "EC", "P-521", "ES512", "sig"),
    ("ed25519", "EdDSA", "OKP", "Ed25519", "EdDSA", "sig"),
    ("rsa-enc", "RS256", "RSA", None, "RSA-OAEP-256", "enc"),
]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def uint(value, size=None):
    return value.to_bytes(size or (value.bit_length() + 7) // 8, "big")


def generate(kty, crv):
    if kty == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kty == "EC":
        return ec.generate_private_key(CURVES[crv]())
    return ed25519.Ed25519PrivateKey.generate()


def public_jwk(private, kid, kty, crv, alg, use):
    """The public JWK of `private`, members in the usual order."""
    jwk = {"kty": kty, "kid": kid}
    if use:
        jwk["use"] = use
    if alg:
        jwk["alg"] = alg
    public = private.public_key()
    if kty == "RSA":
        numbers = public.public_numbers()
        jwk.update(n=b64url(uint(numbers.n)), e=b64url(uint(numbers.e)))
    elif kty == "EC":
        numbers = public.public_numbers()
        size = EC_SIZES[crv]
        jwk.update(crv=crv, x=b64url(uint(numbers.x, size)), y=b64url(uint(numbers.y, size)))
    else:
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk.update(crv=crv, x=b64url(raw))
    return jwk


class Minter:
    def __init__(self, now):
        self.now = now
        self.keys = {}  # kid -> (private key, token algorithm)
        self.jwks = []
        for kid, alg, kty, crv, jwk_alg, use in KEYS:
            private = generate(kty, crv)
            self.keys[kid] = (private, alg)
            self.jwks.append(public_jwk(private, kid, kty, crv, jwk_alg, use))
        self.cases = []

    def claims(self, **changes):
        """The default claims with `changes` (a value of None removes the claim)."""
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "mint-user", "iat": self.now, "exp": self.now + 3600}
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def add(self, name, token, expect, audiences=None, expect_unnamed=None):
        case = {"name": name, "token": token, "expect": expect}
        if audiences is not None:
            case["audiences"] = audiences
        if expect_unnamed is not None and expect_unnamed != expect:
            case["expect_unnamed"] = expect_unnamed
        self.cases.append(case)

    # Token makers ---------------------------------------------------------------------------------------

    def pyjwt(self, kid, claims=None, headers=None, alg=None, header_kid=True):
        """A token from PyJWT's jwt.encode, signed with key `kid` (header kid = `kid` unless header_kid is
        False or headers override it)."""
        private, default_alg = self.keys[kid]
        extra = {"kid": kid} if header_kid else {}
        extra.update(headers or {})
        return jwt.encode(
            claims if claims is not None else self.claims(), private, algorithm=alg or default_alg, headers=extra)

    def joserfc(self, kid, claims=None):
        """A token from joserfc's jwt.encode, signed with key `kid`."""
        private, alg = self.keys[kid]
        key_class = {rsa.RSAPrivateKey: RSAKey, ec.EllipticCurvePrivateKey: ECKey}
        imported = next(
            (cls for base, cls in key_class.items() if isinstance(private, base)), OKPKey).import_key(private)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc warns that EdDSA is deprecated by RFC 9864
            return jose_jwt.encode(
                {"alg": alg, "kid": kid}, claims if claims is not None else self.claims(), imported,
                algorithms=[alg])

    def raw(self, kid, header, payload, alg=None):
        """A token assembled by hand: `header` (dict, or bytes taken as is) and `payload` (dict or bytes), signed
        with key `kid` by PyJWT's algorithm objects (ECDSA as r||s)."""
        private, default_alg = self.keys[kid]
        header_bytes = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
        payload_bytes = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        signing_input = f"{b64url(header_bytes)}.{b64url(payload_bytes)}"
        algorithm = jwt.algorithms.get_default_algorithms()[alg or default_alg]
        return f"{signing_input}.{b64url(algorithm.sign(signing_input.encode(), private))}"

    # Cases ----------------------------------------------------------------------------------------------

    def mint(self):
        signing = [(kid, alg) for kid, alg, _, _, _, use in KEYS if use != "enc"]
        for kid, alg in signing:
            self.add(f"{alg} valid, PyJWT, kid {kid}", self.pyjwt(kid), "ok")
            self.add(f"{alg} valid, joserfc, kid {kid}", self.joserfc(kid), "ok")
        self.key_rules()
        self.signatures()
        self.claim_rules()
        self.header_rules()
        self.shapes()
        return self.cases

    def key_rules(self):
        rsa_private = self.keys["rs256"][0]
        self.add("RS384 with the alg-less RSA key (kty RSA takes RS*/PS*)",
                 self.pyjwt("rsa-noalg", alg="RS384"), "ok")
        self.add("PS512 with the alg-less RSA key", self.pyjwt("rsa-noalg", alg="PS512"), "ok")
        self.add("PS256 signed by the RS256-pinned key, kid rs256 (its alg pins it)",
                 self.pyjwt("rs256", alg="PS256"), "alg_not_allowed")
        self.add("RS256 whose kid names the alg-less P-256 key (alg confusion across key types)",
                 self.pyjwt("rs256", headers={"kid": "p256-noalg"}), "alg_not_allowed")
        self.add("RS256 whose kid names the ES384-pinned key", self.pyjwt("rs256", headers={"kid": "es384"}),
                 "alg_not_allowed")
        self.add("ES384 whose kid names the alg-less P-256 key (P-256 takes ES256 only)",
                 self.pyjwt("es384", headers={"kid": "p256-noalg"}), "alg_not_allowed")
        self.add("EdDSA whose kid names the ES512 key", self.pyjwt("ed25519", headers={"kid": "es512"}),
                 "alg_not_allowed")
        self.add("kid-less ES384: exactly one key takes ES384", self.pyjwt("es384", header_kid=False), "ok")
        self.add("kid-less ES256: only the alg-less P-256 key takes ES256", self.pyjwt("p256-noalg", header_kid=False),
                 "ok")
        self.add("kid-less PS256: only the alg-less RSA key takes PS256", self.pyjwt("rsa-noalg", header_kid=False),
                 "ok")
        self.add("kid-less RS256: two keys take RS256 (rs256, rsa-noalg)", self.pyjwt("rs256", header_kid=False),
                 "unknown_kid")
        self.add("unknown kid", self.pyjwt("p256-noalg", headers={"kid": "no-such-kid"}), "unknown_kid")
        self.add("kid of 300 bytes (never looked up)", self.pyjwt("p256-noalg", headers={"kid": "k" * 300}),
                 "unknown_kid")
        self.add("RS256 signed by the use=enc key, kid rsa-enc (enc keys never verify)", self.pyjwt("rsa-enc"),
                 "unknown_kid")
        # HS256 keyed with the RS256 key's public PEM: PyJWT refuses a PEM as an HMAC secret, so by hand.
        pem = rsa_private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        header = b64url(json.dumps({"alg": "HS256", "kid": "rs256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = b64url(json.dumps(self.claims(), separators=(",", ":")).encode())
        mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        self.add("HS256 keyed with the RSA public key PEM (alg confusion)", f"{header}.{payload}.{b64url(mac)}",
                 "unsupported_alg")
        self.add("alg none", jwt.encode(self.claims(), None, algorithm="none"), "unsupported_alg")
        self.add("alg none with a kid", jwt.encode(self.claims(), None, algorithm="none", headers={"kid": "rs256"}),
                 "unsupported_alg")
        self.add("alg Ed25519 (RFC 9864's name for EdDSA on Ed25519) with the alg EdDSA key",
                 self.raw("ed25519", {"alg": "Ed25519", "kid": "ed25519"}, self.claims(), alg="EdDSA"),
                 "ok")
        self.add("alg Ed448 (not verified by jwksd)",
                 self.raw("ed25519", {"alg": "Ed448", "kid": "ed25519"}, self.claims(), alg="EdDSA"),
                 "unsupported_alg")

    def signatures(self):
        for kid in ("rs256", "p256-noalg", "ed25519"):
            self.add(f"{self.keys[kid][1]} with a flipped signature byte", flip(self.pyjwt(kid)), "bad_signature")
        self.add("ES256 signature of another payload",
                 swap_payload(self.pyjwt("p256-noalg"), self.claims(sub="someone-else")), "bad_signature")
        # ES256 with the signature in DER (what cryptography's ECDSA sign returns), not r||s: not 64 bytes.
        private = self.keys["p256-noalg"][0]
        header = b64url(json.dumps({"alg": "ES256", "kid": "p256-noalg", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = b64url(json.dumps(self.claims(), separators=(",", ":")).encode())
        der = private.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
        self.add("ES256 with a DER signature instead of r||s", f"{header}.{payload}.{b64url(der)}", "bad_signature")
        self.add("ES256 with an empty signature", self.pyjwt("p256-noalg").rsplit(".", 1)[0] + ".", "bad_signature")
        self.add("ES512 signed with the P-384 key's curve (kid es512, r||s of 96 bytes)",
                 self.raw("es384", {"alg": "ES512", "kid": "es512"}, self.claims(), alg="ES384"), "bad_signature")
        self.add("expired token with a flipped signature byte (signature before claims)",
                 flip(self.pyjwt("rs256", self.claims(exp=self.now - 3600))), "bad_signature")

    def claim_rules(self):
        now = self.now
        self.add("expired (exp now-3600)", self.pyjwt("p256-noalg", self.claims(exp=now - 3600)), "expired")
        self.add("expired, joserfc", self.joserfc("es384", self.claims(exp=now - 3600)), "expired")
        self.add("nbf in the future (now+3600)", self.pyjwt("p256-noalg", self.claims(nbf=now + 3600)),
                 "not_yet_valid")
        self.add("nbf 30 s ahead, within the 60 s leeway", self.pyjwt("p256-noalg", self.claims(nbf=now + 30)), "ok")
        self.add("nbf in the past", self.pyjwt("p256-noalg", self.claims(nbf=now - 60)), "ok")
        self.add("fractional exp", self.pyjwt("p256-noalg", self.claims(exp=now + 3600.5)), "ok")
        self.add("wrong iss", self.pyjwt("p256-noalg", self.claims(iss="https://evil.example")), "bad_issuer")
        self.add("no iss", self.pyjwt("p256-noalg", self.claims(iss=None)), "bad_issuer")
        self.add("wrong aud", self.pyjwt("p256-noalg", self.claims(aud="api://other")), "bad_audience")
        self.add("no aud", self.pyjwt("p256-noalg", self.claims(aud=None)), "bad_audience")
        self.add("aud array naming api://mint", self.pyjwt("p256-noalg", self.claims(aud=["api://x", AUDIENCE])), "ok")
        self.add("aud array naming neither", self.pyjwt("p256-noalg", self.claims(aud=["api://x", "api://y"])),
                 "bad_audience")
        self.add("aud a number", self.pyjwt("p256-noalg", self.claims(aud=7)), "malformed")
        self.add("call audiences replace the configured ones (token for api://other)",
                 self.pyjwt("p256-noalg", self.claims(aud="api://other")), "ok", audiences=["api://other"])
        self.add("call audiences replace the configured ones (token for api://mint)",
                 self.pyjwt("p256-noalg"), "bad_audience", audiences=["api://other"])
        self.add("no exp (required claim)", self.pyjwt("p256-noalg", self.claims(exp=None)), "missing_claim")
        self.add("exp a string", self.pyjwt("p256-noalg", self.claims(exp=str(now + 3600))), "malformed")
        # Order: required claims, exp, nbf, iss, aud, typ; the first broken rule is the answer.
        self.add("no exp and wrong iss (required claims first)",
                 self.pyjwt("p256-noalg", self.claims(exp=None, iss="https://evil.example")), "missing_claim",
                 expect_unnamed="bad_issuer")
        self.add("expired and wrong aud (exp before aud)",
                 self.pyjwt("p256-noalg", self.claims(exp=now - 3600, aud="api://other")), "expired")
        self.add("expired and wrong iss (exp before iss)",
                 self.pyjwt("p256-noalg", self.claims(exp=now - 3600, iss="https://evil.example")), "expired",
                 expect_unnamed="bad_issuer")
        self.add("duplicate claim in the payload",
                 self.raw("p256-noalg", {"alg": "ES256", "kid": "p256-noalg"},
                          json.dumps(self.claims(), separators=(",", ":")).encode()[:-1] + b',"sub":"twice"}'),
                 "malformed")
        self.add("payload not JSON", self.raw("p256-noalg", {"alg": "ES256", "kid": "p256-noalg"}, b"not json"),
                 "malformed")
        self.add("payload a JSON array", self.raw("p256-noalg", {"alg": "ES256", "kid": "p256-noalg"}, b"[1,2]"),
                 "malformed")
        self.add("payload not JSON, via PyJWS",
                 jwt.PyJWS().encode(b"not json", self.keys["es384"][0], algorithm="ES384", headers={"kid": "es384"}),
                 "malformed")

    def header_rules(self):
        self.add("crit naming exp", self.pyjwt("p256-noalg", headers={"crit": ["exp"]}), "crit_unsupported")
        self.add("crit naming b64 with b64 true",
                 self.pyjwt("p256-noalg", headers={"crit": ["b64"], "b64": True}), "crit_unsupported")
        self.add("crit an empty array", self.pyjwt("p256-noalg", headers={"crit": []}), "malformed")
        self.add("b64 false without crit", self.raw("p256-noalg", {"alg": "ES256", "kid": "p256-noalg", "b64": False},
                                                    self.claims()), "malformed")
        self.add("no typ (typ is not checked by default)", self.pyjwt("p256-noalg", headers={"typ": None}), "ok")
        self.add("typ at+jwt (not checked by default)", self.pyjwt("p256-noalg", headers={"typ": "at+jwt"}), "ok")
        self.add("typ application/jwt", self.pyjwt("p256-noalg", headers={"typ": "application/jwt"}), "ok")
        self.add("typ a number", self.raw("p256-noalg", {"alg": "ES256", "kid": "p256-noalg", "typ": 1}, self.claims()),
                 "malformed")
        self.add("kid a number", self.raw("p256-noalg", {"alg": "ES256", "kid": 1}, self.claims()), "malformed")
        self.add("header without alg", self.raw("p256-noalg", {"kid": "p256-noalg"}, self.claims(), alg="ES256"),
                 "malformed")
        self.add("alg a number", self.raw("p256-noalg", {"alg": 256, "kid": "p256-noalg"}, self.claims(), alg="ES256"),
                 "malformed")
        self.add("header names alg twice",
                 self.raw("p256-noalg", b'{"alg":"ES256","kid":"p256-noalg","alg":"ES256"}', self.claims(),
                          alg="ES256"), "malformed")
        self.add("header not JSON", self.raw("p256-noalg", b"{alg: ES256}", self.claims(), alg="ES256"), "malformed")

    def shapes(self):
        valid = self.pyjwt("p256-noalg")
        header, payload, signature = valid.split(".")
        self.add("2 parts", f"{header}.{payload}", "malformed")
        self.add("4 parts", f"{valid}.{signature}", "malformed")
        self.add("1 part", header, "malformed")
        self.add("empty header part", f".{payload}.{signature}", "malformed")
        self.add("padded base64url signature", f"{valid}{'=' * (-len(signature) % 4) or '===='}", "malformed")
        self.add("base64 (not url) alphabet", standard_alphabet(self, "p256-noalg"), "malformed")
        self.add("space in the payload part", f"{header}.{payload[:10]} {payload[10:]}.{signature}", "malformed")
        self.add(f"token of exactly {MAX_TOKEN_BYTES} bytes", self.sized(MAX_TOKEN_BYTES), "ok")
        self.add(f"token of {MAX_TOKEN_BYTES + 1} bytes", self.sized(MAX_TOKEN_BYTES + 1), "malformed")
        self.add("token over 16 KiB (20,000 bytes of claims)",
                 self.pyjwt("p256-noalg", self.claims(pad="x" * 20_000)), "malformed")

    def sized(self, size):
        """A valid ES256 token of exactly `size` bytes (padding claim `pad`, and a `p` claim to reach lengths
        base64url cannot hit with `pad` alone)."""
        for extra in ("", "p", "pp"):
            for pad in range(size * 3 // 4 - 400, size * 3 // 4 + 10):
                claims = self.claims(pad="x" * pad, **({"p": extra} if extra else {}))
                token = self.pyjwt("p256-noalg", claims)
                if len(token) == size:
                    return token
        raise RuntimeError(f"cannot make a token of {size} bytes")


def flip(token):
    """`token` with its signature's first byte changed."""
    head, signature = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    return f"{head}.{b64url(bytes(raw))}"


def swap_payload(token, claims):
    """`token` with another payload and its own signature."""
    header, _, signature = token.split(".")
    return f"{header}.{b64url(json.dumps(claims, separators=(',', ':')).encode())}.{signature}"


def standard_alphabet(minter, kid):
    """A valid token with its signature spelled in the standard base64 alphabet (+ /), minted until the
    signature has one of those characters."""
    for _ in range(100):
        token = minter.pyjwt(kid)
        head, signature = token.rsplit(".", 1)
        if "-" in signature or "_" in signature:
            return f"{head}.{signature.replace('-', '+').replace('_', '/')}"
    raise RuntimeError("no signature with - or _ in 100 tries")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Mint keys and VerifyJWT test tokens (see the module doc).")
    parser.add_argument("outdir")
    args = parser.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)
    minter = Minter(int(time.time()))
    cases = minter.mint()
    with open(os.path.join(args.outdir, "jwks.json"), "w") as out:
        json.dump({"keys": minter.jwks}, out, indent=1)
        out.write("\n")
    with open(os.path.join(args.outdir, "cases.json"), "w") as out:
        json.dump(cases, out, indent=1)
        out.write("\n")
    names = [case["name"] for case in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise RuntimeError(f"case names repeat: {sorted(duplicates)}")
    print(f"{len(minter.jwks)} keys, {len(cases)} cases in {args.outdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
