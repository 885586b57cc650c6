"""jwksd: the Python client of the jwksd JWKS cache daemon.

- :class:`Client`: every call of the Unix-socket protocol (GetKey, GetKeySet, VerifyJWT, Status, Health,
  Watch...), safe to share between threads.
- :class:`jwksd.aio.Client`: the same calls for asyncio, multiplexed over one connection (``import jwksd.aio``).
- :class:`KeyCache`: a local copy of the keys, kept consistent by Watch; a lookup of a held key makes no call.
- :mod:`jwksd.pyjwt`: ``PyJWKClient``, a drop-in for PyJWT's ``jwt.PyJWKClient`` (``pip install
  "jwksd-client[pyjwt]"``).

``python -m jwksd`` is a small command line (get, keys, status, health, verify).
"""

from .cache import KeyCache
from .client import (
    DEFAULT_SOCKET,
    Client,
    Health,
    KeyInfo,
    ProviderStatus,
    ReloadResult,
    Status,
    Verified,
    Watch,
    WatchEvent,
)
from .errors import (
    DeadlineExceeded,
    Error,
    InvalidArgument,
    InvalidToken,
    NotFound,
    PermissionDenied,
    ProtocolError,
    Unavailable,
)

__version__ = "1.0.0"

__all__ = [
    "Client",
    "KeyCache",
    "Verified",
    "KeyInfo",
    "Health",
    "Status",
    "ProviderStatus",
    "ReloadResult",
    "Watch",
    "WatchEvent",
    "Error",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "PermissionDenied",
    "Unavailable",
    "InvalidToken",
    "ProtocolError",
    "DEFAULT_SOCKET",
    "__version__",
]
