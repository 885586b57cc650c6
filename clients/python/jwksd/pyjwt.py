"""A drop-in for PyJWT's ``jwt.PyJWKClient`` that takes its keys from jwksd.

Install with the extra: ``pip install "jwksd-client[pyjwt]"``. Existing code changes one line::

    # before: client = jwt.PyJWKClient("https://example.auth0.com/.well-known/jwks.json")
    client = jwksd.pyjwt.PyJWKClient("acme", provider="auth0")
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="api://orders")

Lookups go through a :class:`jwksd.KeyCache` (``cache=True``, the default: a held key costs no call) or a
:class:`jwksd.Client` (``cache=False``: one GetKey per lookup). ``PyJWK`` objects are cached per key JSON, so
a hit does not parse the key again. Errors are PyJWT's: an unknown kid raises ``jwt.PyJWKClientError``, a
daemon that cannot be reached ``jwt.PyJWKClientConnectionError`` (a subclass), so existing ``except``
clauses keep working. There is nothing to refresh: the daemon keeps the keys current (``refresh`` arguments
are accepted and ignored).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, List, Optional, Union

try:
    import jwt
    from jwt import PyJWK, PyJWKSet
    from jwt.exceptions import MissingCryptographyError, PyJWKClientConnectionError, PyJWKClientError, PyJWTError
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError('jwksd.pyjwt needs PyJWT: pip install "jwksd-client[pyjwt]"') from error

from .cache import KeyCache
from .client import Client
from .errors import Error, InvalidArgument, NotFound

__all__ = ["PyJWKClient"]

_MAX_CACHED_KEYS = 1024
_NOT_SIGNING = object()


class PyJWKClient:
    """Signing keys for PyJWT from jwksd, with the methods of ``jwt.PyJWKClient``.

    Args:
        tenant: the jwksd tenant.
        provider: the provider; None searches the tenant's providers in config order (as GetKey does).
        socket_path: the daemon's socket; default ``$JWKSD_SOCKET``, else ``./jwksd.sock``.
        cache: True: a :class:`~jwksd.KeyCache` of the tenant (created here, closed by :meth:`close`);
            False: a :class:`~jwksd.Client`; or an existing KeyCache or Client to share (not closed here).
        timeout: seconds a call to the daemon may take.
    """

    def __init__(
        self,
        tenant: str,
        provider: Optional[str] = None,
        socket_path: Optional[str] = None,
        cache: Union[bool, KeyCache, Client] = True,
        *,
        timeout: float = 5.0,
    ) -> None:
        self.tenant = tenant
        self.provider = provider or None
        self._owned = isinstance(cache, bool)
        if cache is True:
            cache = KeyCache(socket_path, tenants=[tenant], timeout=timeout)
        elif cache is False:
            cache = Client(socket_path, timeout=timeout)
        if isinstance(cache, KeyCache):
            self.cache: Optional[KeyCache] = cache
            self.client: Client = cache.client
        elif isinstance(cache, Client):
            self.cache = None
            self.client = cache
        else:
            raise TypeError("cache must be a bool, a jwksd.KeyCache or a jwksd.Client")
        self._keys: Dict[Any, Any] = {}
        self._lock = threading.Lock()

    # -- PyJWKClient's methods ---------------------------------------------------------------------------------

    def get_signing_key_from_jwt(self, token: Union[str, bytes]) -> PyJWK:
        """The signing key named by the token's (unverified) ``kid`` header.

        Raises ``jwt.DecodeError`` for a malformed token and ``jwt.PyJWKClientError`` for an unknown kid."""
        header = jwt.get_unverified_header(token)
        return self.get_signing_key(header.get("kid"))  # type: ignore[arg-type]

    def get_signing_key(self, kid: str) -> PyJWK:
        """The signing key with this kid (a key whose ``use`` is ``sig`` or absent).

        Raises:
            jwt.PyJWKClientError: no such key (unknown kid, or the key is not a signing key).
            jwt.PyJWKClientConnectionError: the daemon could not be asked (not running, timed out...).
        """
        if not isinstance(kid, str) or not kid:
            raise PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"')
        try:
            if self.cache is not None:
                entry = self.cache._lookup(self.tenant, kid, self.provider)
                ident: Any = entry.ident
                key = self._keys.get(ident)
                if key is None:
                    key = self._make(ident, entry.jwk)
            else:
                jwk, reply = self.client._get_key(self.tenant, kid, self.provider, None, None)
                ident = reply.jwk_json
                key = self._keys.get(ident)
                if key is None:
                    key = self._make(ident, jwk)
        except (NotFound, InvalidArgument):
            raise PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"') from None
        except Error as error:
            raise PyJWKClientConnectionError(f'Fail to fetch data from jwksd, err: "{error}"') from error
        if key is _NOT_SIGNING:
            raise PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"')
        return key  # type: ignore[no-any-return]

    def get_signing_keys(self, refresh: bool = False) -> List[PyJWK]:
        """Every signing key (``use`` ``sig`` or absent, with a kid) the daemon serves for the provider (all
        the tenant's providers in config order when none is named).

        Raises ``jwt.PyJWKClientError`` when there is none, as PyJWT does."""
        keys = [
            key
            for key in self.get_jwk_set().keys
            if key.public_key_use in ["sig", None] and key.key_id
        ]
        if not keys:
            raise PyJWKClientError("The JWKS endpoint did not contain any signing keys")
        return keys

    def get_jwk_set(self, refresh: bool = False) -> PyJWKSet:
        """The served keys as a ``jwt.PyJWKSet`` (keys PyJWT cannot use are skipped, as PyJWT does)."""
        return PyJWKSet.from_dict(self.fetch_data())

    def fetch_data(self) -> Dict[str, Any]:
        """The keys the daemon serves, as a JWK Set document ``{"keys": [...]}``.

        Keys the daemon refuses to serve (private, symmetric, weak...) are left out even when the provider's
        document holds them."""
        try:
            providers = [self.provider] if self.provider else self.client.list_tenants().get(self.tenant)
            if providers is None:
                raise NotFound(5, f'unknown tenant "{self.tenant}"')
            keys: List[Dict[str, Any]] = []
            for provider in providers:
                keys.extend(self._served_keys(provider))
        except NotFound as error:
            raise PyJWKClientError(f"Unable to read the key set: {error}") from None
        except Error as error:
            raise PyJWKClientConnectionError(f'Fail to fetch data from jwksd, err: "{error}"') from error
        return {"keys": keys}

    @staticmethod
    def match_kid(signing_keys: List[PyJWK], kid: str) -> Optional[PyJWK]:
        """The first key of ``signing_keys`` with this kid, or None (as PyJWT's)."""
        for key in signing_keys:
            if key.key_id == kid:
                return key
        return None

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the KeyCache or Client this instance created (not one it was given)."""
        if self._owned:
            if self.cache is not None:
                self.cache.close()
            else:
                self.client.close()

    def __enter__(self) -> "PyJWKClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------------------------------------

    def _make(self, ident: Any, jwk: Dict[str, Any]) -> Any:
        if jwk.get("use") not in ("sig", None):
            key: Any = _NOT_SIGNING
        else:
            try:
                key = PyJWK(dict(jwk))
            except MissingCryptographyError:
                raise
            except PyJWTError:
                key = _NOT_SIGNING  # a key PyJWT cannot use is not among its signing keys either
        with self._lock:
            if len(self._keys) >= _MAX_CACHED_KEYS:
                self._keys.clear()
            self._keys[ident] = key
        return key

    def _served_keys(self, provider: str) -> List[Dict[str, Any]]:
        info = self.client.get_key_set_info(self.tenant, provider)
        document = json.loads(info.jwks_json)
        keys = [key for key in document.get("keys", []) if isinstance(key, dict)]
        if not info.dropped_count:
            return keys
        # The document holds keys the daemon does not serve: keep, per kid, the key it serves.
        served: List[Dict[str, Any]] = []
        seen = set()
        for key in keys:
            kid = key.get("kid")
            if not isinstance(kid, str) or not kid or kid in seen:
                continue
            seen.add(kid)
            try:
                served.append(self.client.get_key(self.tenant, kid, provider))
            except (NotFound, InvalidArgument):
                continue
        return served
