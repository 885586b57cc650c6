"""GetKey's algorithm narrowing (PROTOCOL.md §3, GetKey), as the daemon applies it.

A key fits ``alg`` when its own ``alg`` equals it, or when it has none and its type and curve fit by this
table. An ``alg`` outside the table is not registered: the daemon answers INVALID_ARGUMENT.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Mapping, Optional, Tuple

_RSA = frozenset(
    ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "RSA-OAEP", "RSA-OAEP-256", "RSA-OAEP-384",
     "RSA-OAEP-512", "RSA1_5"]
)
_ECDH = frozenset(["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"])

#: (kty, crv) -> the algorithms a key of that type and curve fits when it has no ``alg``.
FITS_WITHOUT_ALG: Dict[Tuple[str, Optional[str]], FrozenSet[str]] = {
    ("RSA", None): _RSA,
    ("EC", "P-256"): frozenset(["ES256"]) | _ECDH,
    ("EC", "P-384"): frozenset(["ES384"]) | _ECDH,
    ("EC", "P-521"): frozenset(["ES512"]) | _ECDH,
    ("OKP", "Ed25519"): frozenset(["EdDSA", "Ed25519"]),
    ("OKP", "X25519"): _ECDH,
}

#: Every registered algorithm name GetKey accepts.
REGISTERED: FrozenSet[str] = frozenset().union(*FITS_WITHOUT_ALG.values())

_NOTHING: FrozenSet[str] = frozenset()


def fitting(jwk: Mapping[str, Any]) -> FrozenSet[str]:
    """The registered algorithms ``jwk`` fits (for GetKey's ``alg``)."""
    own = jwk.get("alg")
    if own is not None:
        return frozenset([own]) & REGISTERED if isinstance(own, str) else _NOTHING
    kty = jwk.get("kty")
    if kty == "RSA":
        return _RSA
    crv = jwk.get("crv")
    if not isinstance(kty, str) or not isinstance(crv, str):
        return _NOTHING
    return FITS_WITHOUT_ALG.get((kty, crv), _NOTHING)
