"""The jwksd client: :class:`Client` (unary calls over a small pool of connections) and :class:`Watch`."""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from google.protobuf.message import DecodeError

from . import _wire
from ._wire import (
    GET_KEY,
    GET_KEY_SET,
    HEALTH,
    LIST_TENANTS,
    RELOAD,
    REFRESH,
    STATUS,
    VERIFY_JWT,
    WATCH,
    Broken,
    Connection,
)
from .errors import DeadlineExceeded, Error, InvalidArgument, ProtocolError, Unavailable, error_for
from .v1 import jwksd_pb2

pb: Any = jwksd_pb2  # protoc's module (no type stubs)

__all__ = [
    "DEFAULT_SOCKET",
    "Client",
    "Health",
    "KeyInfo",
    "ProviderStatus",
    "ReloadResult",
    "Status",
    "Verified",
    "Watch",
    "WatchEvent",
    "default_socket_path",
]

#: The socket used when neither the argument nor ``$JWKSD_SOCKET`` names one.
DEFAULT_SOCKET = "./jwksd.sock"
#: Extra time the client waits past a request's ``timeout_ms`` for the daemon's own DEADLINE_EXCEEDED.
DEADLINE_MARGIN = 0.5
_MAX_SERVER_WAIT_MS = 60_000  # the daemon caps every wait at 60 s (PROTOCOL.md §2)


def default_socket_path(socket_path: Optional[str] = None) -> str:
    """``socket_path`` if given, else ``$JWKSD_SOCKET``, else ``./jwksd.sock``."""
    if socket_path:
        return os.fspath(socket_path)
    return os.environ.get("JWKSD_SOCKET") or DEFAULT_SOCKET


# --------------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class KeyInfo:
    """A GetKey reply: the key and what the daemon says about it."""

    jwk: Dict[str, Any]
    """The key's JSON object exactly as the provider served it, parsed."""
    jwk_json: bytes
    kid: str
    kty: str
    alg: str
    """The key's own ``alg`` (empty when it has none)."""
    use: str
    provider: str
    fetched_at: int
    expires_at: int
    stale: bool
    """Served past expiry because refreshes fail (stale-while-error)."""
    matches: int


@dataclass(frozen=True)
class Verified:
    """A token that VerifyJWT accepted."""

    claims: Dict[str, Any]
    header: Dict[str, Any]
    provider: str
    kid: str
    """The key used (``""`` when the token named none)."""
    alg: str
    stale: bool
    """Verified with a key served stale (the provider is failing)."""
    raw_claims: bytes = field(repr=False, default=b"")
    """The payload JSON byte for byte as in the token."""
    raw_header: bytes = field(repr=False, default=b"")
    """The protected header JSON byte for byte as in the token."""


@dataclass(frozen=True)
class ProviderStatus:
    """One provider's state (Status, Refresh)."""

    tenant: str
    provider: str
    source: str
    state: str
    standing: str
    """``fresh``, ``stale``, ``expired`` or ``none``."""
    key_count: int
    dropped_count: int
    etag: str
    last_refresh: int
    fetched_at: int
    next_refresh: int
    expires_at: int
    stale_until: int
    consecutive_errors: int
    last_error: str
    last_error_code: str


@dataclass(frozen=True)
class ReloadResult:
    """The outcome of a configuration reload."""

    ok: bool
    generation: int
    error: str
    at: int
    added: int
    removed: int
    changed: int
    unchanged: int
    restart_pending: Tuple[str, ...] = ()
    """``server:`` keys whose value in the file differs from the one in force: read at start only, they apply
    at the next start (``("http", "max_connections")``; empty when none, or when the reload failed)."""


@dataclass(frozen=True)
class Status:
    """Status: every provider (of one tenant or all readable ones), the config generation, the last reload."""

    providers: List[ProviderStatus]
    config_generation: int
    last_reload: Optional[ReloadResult]


@dataclass(frozen=True)
class Health:
    """Health: ``serving`` once every provider has keys or failed its first attempt."""

    serving: bool
    loading: List[str]
    providers: int
    ready: int


@dataclass(frozen=True)
class WatchEvent:
    """One Watch item. ``kind`` is ``"KEYS_CHANGED"``, ``"FAILED"`` or ``"REMOVED"``."""

    tenant: str
    provider: str
    kind: str
    kids: Tuple[str, ...]
    """KEYS_CHANGED: the kids now published."""
    at: int
    error: str
    """FAILED: why."""
    key_count: int


_PROVIDER_FIELDS = [name for name in ProviderStatus.__dataclass_fields__]
_RELOAD_FIELDS = [name for name in ReloadResult.__dataclass_fields__]
_EVENT_KINDS = {1: "KEYS_CHANGED", 2: "FAILED", 3: "REMOVED"}


def _provider_status(message: Any) -> ProviderStatus:
    return ProviderStatus(**{name: getattr(message, name) for name in _PROVIDER_FIELDS})


def _reload_result(message: Any) -> ReloadResult:
    values = {name: getattr(message, name) for name in _RELOAD_FIELDS}
    values["restart_pending"] = tuple(message.restart_pending)
    return ReloadResult(**values)


def _event(message: Any) -> WatchEvent:
    return WatchEvent(
        tenant=message.tenant,
        provider=message.provider,
        kind=_EVENT_KINDS.get(message.kind, "KIND_UNSPECIFIED"),
        kids=tuple(message.kids),
        at=message.at,
        error=message.error,
        key_count=message.key_count,
    )


# A pooled connection carries one call at a time and is dropped after any failure (a timeout included), so no
# reply to an earlier call can be in flight on it: every unary call uses the same call id, and a request's
# whole frame can be built once.
_UNARY_ID = 1
_MAX_MEMO = 1024  # request frames and parsed replies remembered (the hot path's), each


def _unary(method: int, payload: bytes) -> bytes:
    return _wire.frame(_wire.REQUEST, _wire.ACCEPT_COMPRESSED, method, _UNARY_ID, payload)


def _timeout_ms(seconds: float) -> int:
    return max(1, min(_MAX_SERVER_WAIT_MS, int(seconds * 1000)))


def _encode(message_type: Any, **fields: Any) -> bytes:
    """A request message, encoded; a string that is not valid UTF-8 (lone surrogates) is INVALID_ARGUMENT."""
    try:
        return message_type(**fields).SerializeToString()  # type: ignore[no-any-return]
    except (ValueError, UnicodeError) as error:
        raise InvalidArgument(3, f"cannot encode the request: {error}") from None


def _decode(message_type: Any, body: bytes) -> Any:
    """A reply's message; a payload that does not decode means the peer is not a (sane) jwksd."""
    try:
        return message_type.FromString(body)
    except DecodeError as error:
        raise ProtocolError(14, f"a {message_type.DESCRIPTOR.name} does not decode: {error}") from None


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as error:
        raise Error(13, f"the daemon sent {what} that is not JSON: {error}") from None


# --------------------------------------------------------------------------------------------------------------
# What each call sends and what its reply becomes: shared by Client and jwksd.aio.Client.


def _reply_wait(timeout_ms: int) -> float:
    """How long a call that asks the daemon to wait ``timeout_ms`` waits for its reply (the daemon's own answer
    at its deadline included)."""
    return timeout_ms / 1000 + DEADLINE_MARGIN


def _get_key_payload(tenant: str, kid: str, provider: Optional[str], alg: Optional[str], timeout_ms: int) -> bytes:
    return _encode(
        pb.GetKeyRequest, tenant=tenant, provider=provider or "", kid=kid, alg=alg or "", timeout_ms=timeout_ms
    )


def _key_info(jwk: Dict[str, Any], reply: Any) -> KeyInfo:
    return KeyInfo(
        jwk=jwk,
        jwk_json=reply.jwk_json,
        kid=reply.kid,
        kty=reply.kty,
        alg=reply.alg,
        use=reply.use,
        provider=reply.provider,
        fetched_at=reply.fetched_at,
        expires_at=reply.expires_at,
        stale=reply.stale,
        matches=reply.matches,
    )


def _tenants(body: bytes) -> Dict[str, List[str]]:
    reply = _decode(pb.ListTenantsResponse, body)
    return {tenant.id: list(tenant.providers) for tenant in reply.tenants}


def _status(body: bytes) -> Status:
    reply = _decode(pb.StatusResponse, body)
    return Status(
        providers=[_provider_status(provider) for provider in reply.providers],
        config_generation=reply.config_generation,
        last_reload=_reload_result(reply.last_reload) if reply.HasField("last_reload") else None,
    )


def _health(body: bytes) -> Health:
    reply = _decode(pb.HealthResponse, body)
    return Health(serving=reply.serving, loading=list(reply.loading), providers=reply.providers, ready=reply.ready)


def _verify_payload(
    token: str, tenant: str, provider: Optional[str], audiences: Optional[Iterable[str]], timeout_ms: int
) -> bytes:
    if isinstance(audiences, str):
        audiences = [audiences]
    return _encode(
        pb.VerifyJWTRequest,
        tenant=tenant,
        provider=provider or "",
        token=token,
        audiences=list(audiences or ()),
        timeout_ms=timeout_ms,
    )


def _verified(body: bytes) -> Verified:
    reply = _decode(pb.VerifyJWTResponse, body)
    return Verified(
        claims=_json(reply.claims, "claims"),
        header=_json(reply.header, "a header"),
        provider=reply.provider,
        kid=reply.kid,
        alg=reply.alg,
        stale=reply.stale,
        raw_claims=reply.claims,
        raw_header=reply.header,
    )


def _refresh_payload(tenant: str, provider: Optional[str], timeout_ms: int) -> bytes:
    return _encode(pb.RefreshRequest, tenant=tenant, provider=provider or "", timeout_ms=timeout_ms)


def _refreshed(body: bytes) -> List[ProviderStatus]:
    return [_provider_status(status) for status in _decode(pb.RefreshResponse, body).providers]


def _reloaded(body: bytes) -> ReloadResult:
    return _reload_result(_decode(pb.ReloadResponse, body).result)


def _watch_payload(tenants: Optional[Sequence[str]], providers: Optional[Sequence[str]]) -> bytes:
    if isinstance(tenants, str):
        tenants = [tenants]
    if isinstance(providers, str):
        providers = [providers]
    return _encode(pb.WatchRequest, tenants=list(tenants or ()), providers=list(providers or ()))


def _watch_event(flags: int, body: bytes) -> WatchEvent:
    """A Watch MESSAGE frame's event (inflated first when compressed)."""
    if flags & _wire.COMPRESSED:
        body = _wire.inflate(body)
    return _event(_decode(pb.WatchEvent, body))


def _lost(broken: Broken, ended: str, lost: str) -> Error:
    """The error for a connection that broke: the GOAWAY's status after ``ended`` when the daemon said goodbye,
    else UNAVAILABLE after ``lost``."""
    if broken.goaway:
        return error_for(broken.goaway, f"{ended}: {broken}")
    return Unavailable(14, f"{lost}: {broken}")


# --------------------------------------------------------------------------------------------------------------
# Client

_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _after_fork() -> None:  # a child must not share the parent's sockets, nor count the parent's calls
    for client in list(_clients):
        client._idle = []
        client._slot_lock = threading.Lock()
        client._slot_free = threading.Condition(client._slot_lock)
        client._busy = 0
        client._waiting = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class Client:
    """A jwksd client, safe to share between threads.

    Calls go over a small pool of connections: a calling thread takes an idle connection (or opens one), sends
    its request and reads the reply on it, then puts it back (at most ``max_idle`` stay open). At most
    ``max_connections`` calls are on the socket at once; a thread past them waits for one to end, within its
    call's ``timeout`` (then :class:`~jwksd.DeadlineExceeded`), so a burst of threads cannot open more
    connections than the daemon allows one uid (``max_connections_per_uid``). A connection
    that fails is dropped, and a call that got no reply because its connection broke (the daemon restarted,
    closed an idle connection, said GOAWAY) is retried once on a new connection; admin calls are not retried.

    Args:
        socket_path: the daemon's socket; default ``$JWKSD_SOCKET``, else ``./jwksd.sock``.
        timeout: seconds a call may take. Requests that can wait on the daemon's side (GetKey, VerifyJWT,
            Refresh) carry it as ``timeout_ms`` and the client waits a little longer for the daemon's answer.
        max_idle: idle connections kept open.
        max_connections: connections (calls in flight) at once; at least 1.

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        socket_path: Optional[str] = None,
        timeout: float = 5.0,
        *,
        max_idle: int = 8,
        max_connections: int = 64,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.socket_path: str = default_socket_path(socket_path)
        self.timeout: float = float(timeout)
        self.max_idle = max(0, max_idle)
        self.max_connections = max_connections
        # Calls on the socket now, and threads waiting for one to end; a plain lock (C) on the way, a condition
        # only when every slot is taken.
        self._slot_lock = threading.Lock()
        self._slot_free = threading.Condition(self._slot_lock)
        self._busy = 0
        self._waiting = 0
        self._idle: List[Connection] = []
        self._closed = False
        self._requests: Dict[Tuple[Any, ...], Tuple[bytes, float]] = {}
        self._replies: Dict[bytes, Tuple[Dict[str, Any], Any]] = {}
        _clients.add(self)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the idle connections; calls made after this raise :class:`~jwksd.Unavailable`."""
        self._closed = True
        self._drop_idle()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            for connection in self._idle:
                connection.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"jwksd.Client({self.socket_path!r}, timeout={self.timeout})"

    # -- the calls ---------------------------------------------------------------------------------------------

    def get_key(
        self,
        tenant: str,
        kid: str,
        provider: Optional[str] = None,
        alg: Optional[str] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """GetKey: the key ``kid`` of ``tenant`` as the provider served it (a JWK, parsed JSON).

        ``provider`` None searches the tenant's providers in config order; ``alg`` narrows to keys usable with
        that algorithm (PROTOCOL.md §3). An unknown kid makes the daemon refetch (at most once per cooldown)
        and wait up to ``timeout`` (default: the client's).

        Raises:
            NotFound: unknown tenant or provider, or the kid is absent (or no key with it fits ``alg``).
            InvalidArgument: a malformed id or kid, an unregistered ``alg``.
            Unavailable: the provider has no servable keys, or the daemon cannot be reached.
            DeadlineExceeded: the refetch did not finish in time.
        """
        return dict(self._get_key(tenant, kid, provider, alg, timeout)[0])

    def get_key_info(
        self,
        tenant: str,
        kid: str,
        provider: Optional[str] = None,
        alg: Optional[str] = None,
        *,
        timeout: Optional[float] = None,
    ) -> KeyInfo:
        """Like :meth:`get_key`, with what the daemon says about the key (provider, ``stale``, ``matches``...)."""
        jwk, reply = self._get_key(tenant, kid, provider, alg, timeout)
        return _key_info(dict(jwk), reply)

    def _get_key(
        self, tenant: str, kid: str, provider: Optional[str], alg: Optional[str], timeout: Optional[float]
    ) -> Tuple[Dict[str, Any], Any]:
        """GetKey: (the key's JSON parsed, the GetKeyResponse). Both are shared: callers copy before handing out.

        The hot path of every lookup: the request frame is built once per distinct request, and a reply's
        bytes are parsed once (the same key comes back as the same bytes until its set is refetched)."""
        request = self._requests.get((tenant, provider, kid, alg, timeout))
        if request is None:
            request = self._get_key_request(tenant, kid, provider, alg, timeout)
        body = self._call_frame(request[0], request[1])
        parsed = self._replies.get(body)
        if parsed is None:
            reply = _decode(pb.GetKeyResponse, body)
            parsed = (_json(reply.jwk_json, "a key"), reply)
            replies = self._replies
            if len(replies) >= _MAX_MEMO:
                self._replies = replies = {}
            replies[body] = parsed
        return parsed

    def _get_key_request(
        self, tenant: str, kid: str, provider: Optional[str], alg: Optional[str], timeout: Optional[float]
    ) -> Tuple[bytes, float]:
        timeout_ms = _timeout_ms(self.timeout if timeout is None else timeout)
        payload = _get_key_payload(tenant, kid, provider, alg, timeout_ms)
        request = (_unary(GET_KEY, payload), _reply_wait(timeout_ms))
        requests = self._requests
        if len(requests) >= _MAX_MEMO:
            self._requests = requests = {}
        requests[(tenant, provider, kid, alg, timeout)] = request
        return request

    def get_key_set(self, tenant: str, provider: str) -> Dict[str, Any]:
        """GetKeySet: the provider's JWK Set document exactly as served (parsed JSON; ``{"keys": [...]}``).

        Note that the document may hold keys the daemon will not serve by kid (``dropped_count`` in
        :meth:`get_key_set_info`)."""
        document: Dict[str, Any] = _json(self._get_key_set(tenant, provider).jwks_json, "a key set")
        return document

    def get_key_set_info(self, tenant: str, provider: str) -> Any:
        """The GetKeySetResponse message (``jwks_json``, ``fetched_at``, ``expires_at``, ``stale``,
        ``key_count``, ``dropped_count``)."""
        return self._get_key_set(tenant, provider)

    def _get_key_set(self, tenant: str, provider: str) -> Any:
        payload = _encode(pb.GetKeySetRequest, tenant=tenant, provider=provider)
        return _decode(pb.GetKeySetResponse, self._call(GET_KEY_SET, payload, self.timeout))

    def list_tenants(self) -> Dict[str, List[str]]:
        """ListTenants: {tenant: [providers in config order]} in config order (only tenants the caller may read)."""
        return _tenants(self._call(LIST_TENANTS, b"", self.timeout))

    def status(self, tenant: Optional[str] = None) -> Status:
        """Status of every provider of ``tenant`` (None: of every tenant the caller may read)."""
        return _status(self._call(STATUS, _encode(pb.StatusRequest, tenant=tenant or ""), self.timeout))

    def health(self) -> Health:
        """Health: whether the daemon is serving (every provider has keys or failed its first attempt)."""
        return _health(self._call(HEALTH, b"", self.timeout))

    def verify(
        self,
        token: str,
        tenant: str,
        provider: Optional[str] = None,
        audiences: Optional[Iterable[str]] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Verified:
        """VerifyJWT: checks a compact JWS with the provider's keys and ``verify:`` rules.

        ``provider`` None: the tenant's provider whose issuer equals the token's ``iss``. ``audiences``
        replaces the configured audiences for this call.

        Raises:
            InvalidToken: the token does not verify (``.reason``, ``.detail``).
            InvalidArgument: no audience to check, a malformed request.
        """
        timeout_ms = _timeout_ms(self.timeout if timeout is None else timeout)
        request = _verify_payload(token, tenant, provider, audiences, timeout_ms)
        return _verified(self._call(VERIFY_JWT, request, _reply_wait(timeout_ms)))

    def refresh(
        self, tenant: str, provider: Optional[str] = None, *, timeout: Optional[float] = None
    ) -> List[ProviderStatus]:
        """Refresh (admin): refetch the tenant's providers (or one) now; their status afterwards.

        Raises :class:`~jwksd.PermissionDenied` unless the caller's uid is one of the daemon's ``admin_uids``."""
        timeout_ms = _timeout_ms(self.timeout if timeout is None else timeout)
        request = _refresh_payload(tenant, provider, timeout_ms)
        return _refreshed(self._call(REFRESH, request, _reply_wait(timeout_ms), retry=False))

    def reload(self) -> ReloadResult:
        """Reload (admin): the daemon re-reads its config file; ``ok`` False keeps the running registry."""
        return _reloaded(self._call(RELOAD, b"", self.timeout, retry=False))

    def watch(
        self,
        tenants: Optional[Sequence[str]] = None,
        providers: Optional[Sequence[str]] = None,
        *,
        heartbeat: float = 30.0,
    ) -> "Watch":
        """Watch: an iterator of :class:`WatchEvent` on a connection of its own.

        ``tenants`` None follows every tenant the caller may read; ``providers`` narrows to
        ``"tenant/provider"`` selectors. A Watch sends no initial state (PROTOCOL.md §3). Iteration ends when
        the Watch is closed; it raises :class:`~jwksd.Error` when the daemon ends it (UNAVAILABLE when it
        stops, RESOURCE_EXHAUSTED when the reader fell behind, PERMISSION_DENIED when access was revoked,
        NOT_FOUND / INVALID_ARGUMENT for a bad selector) or the connection drops. ``close()`` (or leaving the
        ``with`` block) sends CANCEL and closes the connection; it may be called from another thread."""
        return Watch(self.socket_path, tenants, providers, timeout=self.timeout, heartbeat=heartbeat)

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _call(self, method: int, payload: bytes, wait: float, retry: bool = True) -> bytes:
        """One unary call: the OK reply's payload, or the status as an exception."""
        return self._call_frame(_unary(method, payload), wait, retry)

    def _call_frame(self, request: bytes, wait: float, retry: bool = True) -> bytes:
        """:meth:`_call` with the REQUEST frame encoded (call id :data:`_UNARY_ID`), on one of the
        ``max_connections`` slots (waited for within the call's timeout, which the wait then shortens)."""
        lock = self._slot_lock
        with lock:
            taken = self._busy < self.max_connections
            if taken:
                self._busy += 1
        if not taken:
            wait -= self._wait_for_a_slot()
        try:
            return self._call_on_a_connection(request, wait, retry)
        finally:
            with lock:
                self._busy -= 1
                if self._waiting:
                    self._slot_free.notify()

    def _wait_for_a_slot(self) -> float:
        """Takes a slot once a call ends, within ``timeout``; the seconds waited."""
        started = time.monotonic()
        deadline = started + self.timeout
        with self._slot_free:
            self._waiting += 1
            try:
                while self._busy >= self.max_connections:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise DeadlineExceeded(
                            4,
                            f"all {self.max_connections} connections of this client stayed busy for "
                            f"{self.timeout:g} s (max_connections)",
                        )
                    self._slot_free.wait(remaining)
                self._busy += 1
            finally:
                self._waiting -= 1
        return min(time.monotonic() - started, self.timeout - 0.001)

    def _call_on_a_connection(self, request: bytes, wait: float, retry: bool) -> bytes:
        idle = self._idle
        for attempt in (0, 1):
            if self._closed:
                raise Unavailable(14, "the client is closed")
            connection = None
            if attempt == 0:
                try:
                    connection = idle.pop()
                except IndexError:
                    pass
            if connection is None:
                connection = Connection(self.socket_path, self.timeout)
            try:
                code, body = connection.call_frame(request, _UNARY_ID, wait)
            except Broken as broken:
                connection.close()
                self._drop_idle()  # they were most likely opened to the same (gone) daemon
                if attempt == 0 and retry:
                    continue
                raise _lost(broken, self.socket_path, self.socket_path) from None
            except BaseException:
                connection.close()
                raise
            if len(idle) < self.max_idle and not self._closed:
                idle.append(connection)
            else:
                connection.close()
            if code:
                raise error_for(code, body.decode("utf-8", "replace"))
            return body
        raise AssertionError("unreachable")

    def _drop_idle(self) -> None:
        idle = self._idle
        while True:
            try:
                idle.pop().close()
            except IndexError:
                return


# --------------------------------------------------------------------------------------------------------------
# Watch


class Watch(Iterator[WatchEvent]):
    """A Watch stream on a connection of its own (see :meth:`Client.watch`).

    Iterate it from one thread; :meth:`close` may be called from any thread and wakes the iterating one. While
    no event arrives for ``heartbeat`` seconds the client PINGs the daemon and expects an answer within
    ``timeout``, so a daemon that hangs does not leave the iterator blocked forever."""

    CALL_ID = 1

    def __init__(
        self,
        socket_path: str,
        tenants: Optional[Sequence[str]] = None,
        providers: Optional[Sequence[str]] = None,
        *,
        timeout: float = 5.0,
        heartbeat: float = 30.0,
    ) -> None:
        request = _watch_payload(tenants, providers)
        self.timeout = timeout
        self.heartbeat = heartbeat
        self._lock = threading.Lock()  # serializes writes (PONG, PING, CANCEL)
        self._closed = False
        self._ended = False
        self._connection = Connection(socket_path, max(timeout, heartbeat) + timeout)
        try:
            self._connection.send(_wire.frame(_wire.REQUEST, 0, WATCH, self.CALL_ID, request))
        except BaseException:
            self._connection.close()
            raise

    def __iter__(self) -> "Watch":
        return self

    def __next__(self) -> WatchEvent:
        if self._ended or self._closed:
            raise StopIteration
        try:
            return self._next()
        except Broken as broken:
            self._end()
            if self._closed:
                raise StopIteration from None
            raise _lost(broken, "the daemon ended the Watch", "the Watch connection was lost") from None
        except (Error, OSError):
            self._end()
            if self._closed:
                raise StopIteration from None
            raise

    def _next(self) -> WatchEvent:
        connection = self._connection
        pinged_at: Optional[float] = None
        while True:
            now = time.monotonic()
            deadline = now + self.heartbeat if pinged_at is None else pinged_at + self.timeout
            try:
                kind, flags, code, call_id, body = connection.read_frame(deadline)
            except DeadlineExceeded:
                if pinged_at is not None:
                    raise DeadlineExceeded(4, "the daemon did not answer the Watch's PING in time") from None
                pinged_at = time.monotonic()
                with self._lock:
                    connection.send(_wire.frame(_wire.PING, 0, 0, 0, b"jwksd-py"))
                continue
            pinged_at = None
            if kind == _wire.MESSAGE and call_id == self.CALL_ID:
                return _watch_event(flags, body)
            if kind == _wire.RESPONSE and call_id == self.CALL_ID:
                self._end()
                if code in (0, 1) or self._closed:
                    raise StopIteration
                raise error_for(code, body.decode("utf-8", "replace"))
            if kind == _wire.PING:
                with self._lock:
                    connection.send(_wire.frame(_wire.PONG, 0, 0, call_id, body))
            elif kind == _wire.GOAWAY:
                raise Broken("GOAWAY: " + body.decode("utf-8", "replace"), goaway=code)

    def _end(self) -> None:
        self._ended = True
        self._connection.shutdown()
        self._connection.close()

    def close(self) -> None:
        """Cancels the Watch (CANCEL) and closes its connection; iteration then stops."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self._ended:
                try:
                    self._connection.sock.sendall(_wire.frame(_wire.CANCEL, 0, WATCH, self.CALL_ID))
                except OSError:
                    pass
        self._connection.shutdown()
        self._connection.close()

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._connection.close()
        except Exception:
            pass
