"""Exceptions raised by the jwksd client.

Every failed call raises :class:`Error` (or a subclass) carrying the protocol's status: ``.status`` is the name
(``"NOT_FOUND"``), ``.code`` the number (gRPC numbering, PROTOCOL.md §5) and ``.message`` the daemon's text.
``str(error)`` is ``"STATUS: message"``, the line the jwksd command line prints.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple, Type

__all__ = [
    "STATUS_NAMES",
    "Error",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "PermissionDenied",
    "Unavailable",
    "InvalidToken",
    "ProtocolError",
    "error_for",
]

#: Status codes (PROTOCOL.md §5) by number.
STATUS_NAMES: Dict[int, str] = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}


class Error(Exception):
    """A call that did not end OK.

    Attributes:
        code: the status number (e.g. 5).
        status: the status name (e.g. ``"NOT_FOUND"``).
        message: the daemon's text (or the client's, for local failures such as a refused connection).
    """

    code: int
    status: str
    message: str

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.status = STATUS_NAMES.get(code, str(code))
        self.message = message
        super().__init__(f"{self.status}: {message}")

    def __reduce__(self) -> Tuple[Any, Tuple[int, str]]:  # picklable despite the two-argument constructor
        return (type(self), (self.code, self.message))


class InvalidArgument(Error):
    """INVALID_ARGUMENT (3): a request string outside its grammar, an unregistered ``alg``, a missing field."""


class DeadlineExceeded(Error):
    """DEADLINE_EXCEEDED (4): the daemon's wait passed ``timeout_ms``, or no reply came in the client's time."""


class NotFound(Error):
    """NOT_FOUND (5): unknown tenant or provider (or one the caller may not read), or a kid still absent."""


class PermissionDenied(Error):
    """PERMISSION_DENIED (7): an admin method called by a non-admin uid; a Watch whose access was revoked."""


class Unavailable(Error):
    """UNAVAILABLE (14): the daemon is not running or went away, or the provider has no servable keys."""


class ProtocolError(Unavailable):
    """The peer did not speak the jwksd protocol (a bad frame, an oversized frame or inflated payload).

    A kind of :class:`Unavailable` (code 14): whatever is on the socket is not a usable jwksd."""


class InvalidToken(Error):
    """UNAUTHENTICATED (16) from VerifyJWT: the token does not verify.

    Attributes:
        reason: the refusal reason, one of ``malformed``, ``unsupported_alg``, ``alg_not_allowed``,
            ``unknown_kid``, ``bad_signature``, ``expired``, ``not_yet_valid``, ``bad_issuer``,
            ``bad_audience``, ``missing_claim``, ``crit_unsupported``, ``bad_type``.
        detail: the rest of the daemon's text (what exactly was wrong).
    """

    reason: str
    detail: str

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        reason, separator, detail = message.partition(": ")
        if separator and reason and " " not in reason:
            self.reason, self.detail = reason, detail
        else:
            self.reason, self.detail = message, ""


_CLASSES: Dict[int, Type[Error]] = {
    3: InvalidArgument,
    4: DeadlineExceeded,
    5: NotFound,
    7: PermissionDenied,
    14: Unavailable,
    16: InvalidToken,
}


def error_for(code: int, message: str) -> Error:
    """The exception for a non-OK status: the subclass for the code, else a plain :class:`Error`."""
    return _CLASSES.get(code, Error)(code, message)
