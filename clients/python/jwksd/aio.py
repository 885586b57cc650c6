"""The asyncio client: :class:`Client` multiplexes every call of an event loop over one connection.

::

    import jwksd.aio

    async with jwksd.aio.Client("/run/jwksd/jwksd.sock") as client:
        jwk = await client.get_key("acme", "key-2024-06", alg="RS256")

Calls from many tasks share one connection, each with its own call id (PROTOCOL.md §2: pipelining); the
connection's protocol object dispatches each reply to its call's future by call id as the bytes arrive. The
methods, arguments, results and errors are those of the blocking :class:`jwksd.Client`.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import _wire
from ._wire import (
    ACCEPT_COMPRESSED,
    CANCEL,
    COMPRESSED,
    GET_KEY,
    GET_KEY_SET,
    GOAWAY,
    HEALTH,
    LIST_TENANTS,
    MAX_PAYLOAD,
    MESSAGE,
    PING,
    PONG,
    REFRESH,
    RELOAD,
    REQUEST,
    RESPONSE,
    STATUS,
    VERIFY_JWT,
    WATCH,
    Broken,
)
from .client import (
    Health,
    KeyInfo,
    ProviderStatus,
    ReloadResult,
    Status,
    Verified,
    WatchEvent,
    _decode,
    _encode,
    _get_key_payload,
    _health,
    _json,
    _key_info,
    _lost,
    _refresh_payload,
    _refreshed,
    _reloaded,
    _reply_wait,
    _status,
    _tenants,
    _timeout_ms,
    _verified,
    _verify_payload,
    _watch_event,
    _watch_payload,
    default_socket_path,
    pb,
)
from .errors import DeadlineExceeded, Error, ProtocolError, Unavailable, error_for

__all__ = ["Client", "Watch", "DEFAULT_MAX_CALLS"]

#: Calls in flight on the connection at most: the daemon's default ``max_calls_per_connection`` (it answers
#: RESOURCE_EXHAUSTED past its limit). Further calls wait for a free slot, within their deadline.
DEFAULT_MAX_CALLS = 1024
_LAST_ID = 0xFFFFFFFF
_OVER_LIMIT = "calls in flight on this connection"  # the daemon's RESOURCE_EXHAUSTED text past its limit
_PONG_BACKLOG = 1 << 20  # PINGs go unanswered while this much of our output is unsent (a peer not reading)
_WATCH_BACKLOG = 64  # Watch items held before the connection stops being read (the daemon then ends the Watch)
_AFTER_LENGTH = _wire._AFTER_LENGTH
_FLAGS = COMPRESSED | ACCEPT_COMPRESSED
_MAX_HOPS = 3  # connections a call may be moved to because the one it waited for stopped taking calls

_Reply = Tuple[int, bytes]


def _expire(future: "asyncio.Future[Any]", error: Callable[[], Error]) -> None:
    if not future.done():
        future.set_exception(error())


async def _wait(future: "asyncio.Future[Any]", deadline: float, error: Callable[[], Error]) -> Any:
    """Awaits a future of the caller's own, failing it with ``error()`` at ``deadline`` (loop time)."""
    handle = future.get_loop().call_at(deadline, _expire, future, error)
    try:
        return await future
    finally:
        handle.cancel()


def _copy(error: BaseException) -> BaseException:
    """A fresh instance per waiting call (one exception object raised in many tasks would pile tracebacks)."""
    if isinstance(error, Broken):
        return Broken(str(error), goaway=error.goaway)
    if isinstance(error, Error):
        return type(error)(error.code, error.message)
    return error


class _Stream:
    """What a connection calls for a server stream's frames (the Watch)."""

    def message(self, flags: int, body: bytes) -> None:
        raise NotImplementedError

    def end(self, code: int, body: bytes) -> None:
        raise NotImplementedError

    def fail(self, error: BaseException) -> None:
        raise NotImplementedError

    def pong(self) -> None:
        raise NotImplementedError


class _Retarget(Exception):
    """The connection stopped taking calls (GOAWAY, closed, call ids used up) while a call waited for it."""


class _Connection(asyncio.Protocol):
    """One multiplexed connection: the calls in flight by call id, fed by :meth:`data_received`.

    Every frame is checked as :class:`jwksd._wire.Connection` checks it (length from its first 4 bytes, at most
    64 MiB; version, kind, flags; compressed replies one zlib stream inflating to at most 64 MiB); a malformed
    frame closes the connection and fails every call in flight with the :class:`~jwksd.ProtocolError`."""

    def __init__(self, path: str, max_calls: int) -> None:
        self.path = path
        self.max_calls = max_calls
        self.transport: Optional[asyncio.Transport] = None
        self.calls: Dict[int, Union["asyncio.Future[_Reply]", _Stream]] = {}
        self.in_flight = 0  # call slots held (calls sent or about to be)
        self.error: Optional[BaseException] = None  # set once the connection is done
        self.goaway: Optional[int] = None  # the daemon's GOAWAY status: no new calls here
        self.goaway_text = ""
        self.retired = False  # takes no new calls; closed once its last call ends
        self._buffer = bytearray()
        self._next_id = 1
        self._waiters: Deque["asyncio.Future[bool]"] = collections.deque()
        self._writable: Optional["asyncio.Future[None]"] = None  # set while the transport's buffer is full
        self._loop = asyncio.get_running_loop()

    # -- state -------------------------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Takes new calls: open, no GOAWAY received, call ids left."""
        return self.error is None and not self.retired

    def retire(self) -> None:
        """Takes no new calls; the calls in flight carry on (their slots' waiters look elsewhere)."""
        self.retired = True
        self._wake_waiters()
        if not self.calls and self.transport is not None and self.error is None:
            self.transport.close()

    def close(self, error: BaseException) -> None:
        """Closes the connection, failing the calls in flight with ``error``."""
        self._fail(error)

    def _fail(self, error: BaseException) -> None:
        if self.error is not None:
            return
        self.error = error
        calls, self.calls = self.calls, {}
        for entry in calls.values():
            if isinstance(entry, _Stream):
                entry.fail(_copy(error))
            elif not entry.done():
                entry.set_exception(_copy(error))
        self._wake_waiters()
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)
        if self.transport is not None:
            if isinstance(error, ProtocolError):
                self.transport.abort()  # nothing more is read from or written to a peer that breaks the protocol
            else:
                self.transport.close()  # what was written (a CANCEL) still goes out
        self._buffer = bytearray()

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, collections.deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(False)

    # -- call slots (max_calls in flight) ---------------------------------------------------------------------

    async def acquire(self, deadline: float) -> None:
        """Takes a call slot, waiting (first come, first served) while ``max_calls`` are in flight.

        Raises :class:`_Retarget` when the connection stops taking calls meanwhile."""
        if not self.usable:
            raise _Retarget
        waiters = self._waiters
        while waiters and waiters[0].done():  # callers that gave up waiting
            waiters.popleft()
        if self.in_flight < self.max_calls and not waiters:
            self.in_flight += 1
            return
        waiter: "asyncio.Future[bool]" = self._loop.create_future()
        self._waiters.append(waiter)
        path, limit = self.path, self.max_calls
        try:
            granted = await _wait(
                waiter,
                deadline,
                lambda: DeadlineExceeded(4, f"{path}: no call slot free in time ({limit} calls in flight)"),
            )
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None and waiter.result():
                self.release()  # handed a slot as it gave up: pass it on
            raise
        if not granted:
            raise _Retarget

    def release(self) -> None:
        """Gives a call slot back: to the first waiter (unless a lowered limit is exceeded), else to the pool."""
        if self.usable and self.in_flight <= self.max_calls:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(True)  # the slot passes to it as is
                    return
        self.in_flight -= 1
        if self.retired and not self.calls and self.transport is not None and self.error is None:
            self.transport.close()

    # -- calls -------------------------------------------------------------------------------------------------

    def _new_id(self) -> int:
        call_id = self._next_id
        while call_id in self.calls:
            call_id += 1
        if call_id >= _LAST_ID:
            # Ids are never reused on a connection (a late reply to a cancelled call can only carry an id no
            # call holds): after 4,294,967,294 calls, new calls go to a new connection.
            self.retired = True
        self._next_id = call_id + 1
        return call_id

    async def _writable_by(self, deadline: float) -> None:
        writable = self._writable
        if writable is not None:
            done, _ = await asyncio.wait({writable}, timeout=max(0.0, deadline - self._loop.time()))
            if not done:
                raise DeadlineExceeded(4, f"{self.path}: the daemon did not read our request in time")
        if self.error is not None:
            raise _copy(self.error)

    async def call(self, method: int, payload: bytes, deadline: float) -> _Reply:
        """One unary call on a slot the caller holds: (status code, payload inflated).

        On a deadline or a cancellation before the reply, sends CANCEL for the call id and forgets it: a late
        reply finds no call and is dropped."""
        await self._writable_by(deadline)
        if self.error is not None:
            raise _copy(self.error)
        if self.retired:
            raise _Retarget
        call_id = self._new_id()
        future: "asyncio.Future[_Reply]" = self._loop.create_future()
        self.calls[call_id] = future
        assert self.transport is not None
        self.transport.write(_wire.frame(REQUEST, ACCEPT_COMPRESSED, method, call_id, payload))
        path = self.path
        try:
            reply: _Reply = await _wait(future, deadline, lambda: DeadlineExceeded(4, f"no reply from {path} in time"))
            return reply
        except BaseException:
            if self.calls.get(call_id) is future:
                del self.calls[call_id]
                if self.error is None and self.transport is not None:
                    self.transport.write(_wire.frame(CANCEL, 0, method, call_id))
            raise

    def open_stream(self, method: int, payload: bytes, stream: _Stream) -> int:
        """Starts a server stream (call id 1 on a connection of its own)."""
        call_id = self._new_id()
        self.calls[call_id] = stream
        assert self.transport is not None
        self.transport.write(_wire.frame(REQUEST, 0, method, call_id, payload))
        return call_id

    def send(self, data: bytes) -> None:
        if self.error is None and self.transport is not None:
            self.transport.write(data)

    # -- asyncio.Protocol --------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self.error is not None:
            return
        if self.goaway is not None:
            message = "GOAWAY: " + self.goaway_text
        elif exc is None:
            message = "the daemon closed the connection"
        else:
            message = f"the connection failed: {getattr(exc, 'strerror', None) or exc}"  # a send or a receive
        self._fail(Broken(message, goaway=self.goaway))

    def eof_received(self) -> Optional[bool]:
        return False  # close the transport: connection_lost follows

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        size = len(buffer)
        try:
            while size - start >= 4:
                length = int.from_bytes(buffer[start : start + 4], "big")
                if length < 8 or length > MAX_PAYLOAD + 8:
                    raise _wire.length_error(self.path, length)
                if size - start < 12:
                    break
                version, kind, flags, code, call_id = _AFTER_LENGTH.unpack_from(buffer, start + 4)
                if version != _wire.VERSION or kind < REQUEST or kind > PONG or flags & ~_FLAGS:
                    raise _wire.header_error(self.path, version, kind, flags)
                end = start + 4 + length
                if size < end:
                    break
                body = bytes(buffer[start + 12 : end])
                start = end
                self._frame(kind, flags, code, call_id, body)
                if self.error is not None:
                    return
        except ProtocolError as error:
            self._fail(error)
            return
        if start:
            del buffer[:start]

    def _frame(self, kind: int, flags: int, code: int, call_id: int, body: bytes) -> None:
        if kind == RESPONSE:
            entry = self.calls.pop(call_id, None)
            if entry is None:
                return  # a late reply to a call given up (or garbage): no call holds the id
            if isinstance(entry, _Stream):
                entry.end(code, body)
            elif not entry.done():
                if flags & COMPRESSED:
                    try:
                        body = _wire.inflate(body)
                    except ProtocolError as error:
                        entry.set_exception(error)
                        raise
                entry.set_result((code, body))
            if self.retired and not self.calls and self.transport is not None:
                self.transport.close()
        elif kind == MESSAGE:
            entry = self.calls.get(call_id)
            if isinstance(entry, _Stream):
                entry.message(flags, body)
        elif kind == PING:
            if self.transport is not None and self.transport.get_write_buffer_size() < _PONG_BACKLOG:
                self.transport.write(_wire.frame(PONG, 0, 0, call_id, body))
        elif kind == PONG:
            for entry in self.calls.values():
                if isinstance(entry, _Stream):
                    entry.pong()
        elif kind == GOAWAY:
            # The daemon closes after this frame (drain: once its calls in flight are answered): no new call
            # goes here; the calls in flight wait for their replies or the connection's end.
            self.goaway = code
            self.goaway_text = body.decode("utf-8", "replace")
            self.retire()
        else:  # REQUEST, CANCEL
            raise _wire.client_frame_error(self.path, kind)


async def _connect(path: str, max_calls: int, timeout: float) -> _Connection:
    loop = asyncio.get_running_loop()
    try:
        _, connection = await asyncio.wait_for(
            loop.create_unix_connection(lambda: _Connection(path, max_calls), path), timeout
        )
    except asyncio.TimeoutError:
        raise Unavailable(14, f"cannot connect to {path}: timed out") from None
    except OSError as error:
        raise Unavailable(14, f"cannot connect to {path}: {error.strerror or error}") from None
    return connection


class Client:
    """A jwksd client for asyncio: the blocking :class:`jwksd.Client`'s calls as coroutines.

    All calls of a client share **one connection**, each with its own call id, so any number of tasks may
    call at once; at most ``max_calls`` are in flight (the daemon's ``max_calls_per_connection``, default
    1024) and the others wait their turn within their deadline. The connection is opened by the first call.
    When it drops (the daemon restarted), calls in flight fail and are retried once on a new connection
    (admin calls are not retried), like the blocking client's; after a GOAWAY the calls in flight get their
    replies and new calls go to a new connection. A call that times out or whose task is cancelled sends
    CANCEL for its call id; a late reply is dropped.

    A client belongs to the event loop of its first call. Use it as ``async with``, or ``await``
    :meth:`close`.

    Args:
        socket_path: the daemon's socket; default ``$JWKSD_SOCKET``, else ``./jwksd.sock``.
        timeout: seconds a call may take, from the moment it is made (waiting for a call slot, connecting
            and a retry included). GetKey, VerifyJWT and Refresh carry it to the daemon as ``timeout_ms``
            and wait half a second more for the daemon's own DEADLINE_EXCEEDED.
        max_calls: calls in flight on the connection at most (keep it at or below the daemon's
            ``max_calls_per_connection``; a RESOURCE_EXHAUSTED for that limit lowers it and the call waits
            its turn again).
    """

    def __init__(
        self, socket_path: Optional[str] = None, timeout: float = 5.0, *, max_calls: int = DEFAULT_MAX_CALLS
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_calls < 1:
            raise ValueError("max_calls must be at least 1")
        self.socket_path: str = default_socket_path(socket_path)
        self.timeout: float = float(timeout)
        self.max_calls = max_calls
        self.connections_opened = 0
        """Connections this client has opened so far."""
        self._connection: Optional[_Connection] = None
        self._connecting: Optional["asyncio.Task[_Connection]"] = None
        self._closed = False

    def __repr__(self) -> str:
        return f"jwksd.aio.Client({self.socket_path!r}, timeout={self.timeout})"

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Closes the connection; calls in flight and calls made after this raise :class:`~jwksd.Unavailable`."""
        self._closed = True
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            connecting.cancel()
        connection, self._connection = self._connection, None
        if connection is not None and not connection._loop.is_closed():
            connection.close(Unavailable(14, "the client is closed"))

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    # -- the calls ---------------------------------------------------------------------------------------------

    async def get_key(
        self,
        tenant: str,
        kid: str,
        provider: Optional[str] = None,
        alg: Optional[str] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """GetKey: the key ``kid`` of ``tenant`` as the provider served it (a JWK, parsed JSON).

        As :meth:`jwksd.Client.get_key`: ``provider`` None searches the tenant's providers in config order,
        ``alg`` narrows to keys usable with that algorithm, an unknown kid may make the daemon refetch and
        wait up to ``timeout`` (default: the client's).

        Raises:
            NotFound: unknown tenant or provider, or the kid is absent (or no key with it fits ``alg``).
            InvalidArgument: a malformed id or kid, an unregistered ``alg``.
            Unavailable: the provider has no servable keys, or the daemon cannot be reached.
            DeadlineExceeded: no answer in time.
        """
        return (await self._get_key(tenant, kid, provider, alg, timeout))[0]

    async def get_key_info(
        self,
        tenant: str,
        kid: str,
        provider: Optional[str] = None,
        alg: Optional[str] = None,
        *,
        timeout: Optional[float] = None,
    ) -> KeyInfo:
        """Like :meth:`get_key`, with what the daemon says about the key (provider, ``stale``, ``matches``...)."""
        jwk, reply = await self._get_key(tenant, kid, provider, alg, timeout)
        return _key_info(jwk, reply)

    async def _get_key(
        self, tenant: str, kid: str, provider: Optional[str], alg: Optional[str], timeout: Optional[float]
    ) -> Tuple[Dict[str, Any], Any]:
        timeout_ms = _timeout_ms(self.timeout if timeout is None else timeout)
        payload = _get_key_payload(tenant, kid, provider, alg, timeout_ms)
        body = await self._call(GET_KEY, payload, _reply_wait(timeout_ms))
        reply = _decode(pb.GetKeyResponse, body)
        return _json(reply.jwk_json, "a key"), reply

    async def get_key_set(self, tenant: str, provider: str) -> Dict[str, Any]:
        """GetKeySet: the provider's JWK Set document exactly as served (parsed JSON; ``{"keys": [...]}``)."""
        document: Dict[str, Any] = _json((await self.get_key_set_info(tenant, provider)).jwks_json, "a key set")
        return document

    async def get_key_set_info(self, tenant: str, provider: str) -> Any:
        """The GetKeySetResponse message (``jwks_json``, ``fetched_at``, ``expires_at``, ``stale``,
        ``key_count``, ``dropped_count``)."""
        payload = _encode(pb.GetKeySetRequest, tenant=tenant, provider=provider)
        return _decode(pb.GetKeySetResponse, await self._call(GET_KEY_SET, payload, self.timeout))

    async def list_tenants(self) -> Dict[str, List[str]]:
        """ListTenants: {tenant: [providers in config order]} in config order (only tenants the caller may read)."""
        return _tenants(await self._call(LIST_TENANTS, b"", self.timeout))

    async def status(self, tenant: Optional[str] = None) -> Status:
        """Status of every provider of ``tenant`` (None: of every tenant the caller may read)."""
        return _status(await self._call(STATUS, _encode(pb.StatusRequest, tenant=tenant or ""), self.timeout))

    async def health(self) -> Health:
        """Health: whether the daemon is serving (every provider has keys or failed its first attempt)."""
        return _health(await self._call(HEALTH, b"", self.timeout))

    async def verify(
        self,
        token: str,
        tenant: str,
        provider: Optional[str] = None,
        audiences: Optional[Iterable[str]] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Verified:
        """VerifyJWT: checks a compact JWS with the provider's keys and ``verify:`` rules.

        Raises:
            InvalidToken: the token does not verify (``.reason``, ``.detail``).
            InvalidArgument: no audience to check, a malformed request.
        """
        timeout_ms = _timeout_ms(self.timeout if timeout is None else timeout)
        request = _verify_payload(token, tenant, provider, audiences, timeout_ms)
        return _verified(await self._call(VERIFY_JWT, request, _reply_wait(timeout_ms)))

    async def refresh(
        self, tenant: str, provider: Optional[str] = None, *, timeout: Optional[float] = None
    ) -> List[ProviderStatus]:
        """Refresh (admin): refetch the tenant's providers (or one) now; their status afterwards. Not retried.

        Raises :class:`~jwksd.PermissionDenied` unless the caller's uid is one of the daemon's ``admin_uids``."""
        timeout_ms = _timeout_ms(self.timeout if timeout is None else timeout)
        request = _refresh_payload(tenant, provider, timeout_ms)
        return _refreshed(await self._call(REFRESH, request, _reply_wait(timeout_ms), retry=False))

    async def reload(self) -> ReloadResult:
        """Reload (admin): the daemon re-reads its config file; ``ok`` False keeps the running registry."""
        return _reloaded(await self._call(RELOAD, b"", self.timeout, retry=False))

    def watch(
        self,
        tenants: Optional[Sequence[str]] = None,
        providers: Optional[Sequence[str]] = None,
        *,
        heartbeat: float = 30.0,
    ) -> "Watch":
        """Watch: an async iterator of :class:`~jwksd.WatchEvent` on a connection of its own.

        ::

            async with client.watch(tenants=["acme"]) as events:
                async for event in events:
                    ...

        Not a coroutine: the connection opens on the first ``__anext__`` (or ``async with``). Arguments,
        events, the end of iteration and errors are those of :meth:`jwksd.Client.watch`; ``await
        watch.close()`` sends CANCEL and closes the connection."""
        return Watch(self.socket_path, tenants, providers, timeout=self.timeout, heartbeat=heartbeat)

    # -- plumbing ----------------------------------------------------------------------------------------------

    async def _current(self, deadline: float) -> _Connection:
        """The connection new calls go to, opened (once, whoever asks) when there is none."""
        loop = asyncio.get_running_loop()
        while True:
            connection = self._connection
            if connection is not None and connection._loop is not loop:
                # Opened by another event loop (a former asyncio.run): unusable here. Closed if that loop can
                # still run its callbacks, else left to the garbage collector (a closed loop runs nothing).
                self._connection = None
                self._connecting = None
                if not connection._loop.is_closed():
                    connection._loop.call_soon_threadsafe(connection.close, Unavailable(14, "the client moved"))
                connection = None
            if connection is not None and connection.usable:
                return connection
            if self._closed:
                raise Unavailable(14, "the client is closed")
            task = self._connecting
            if task is None:
                task = self._connecting = loop.create_task(self._open())
                task.add_done_callback(lambda done: done.cancelled() or done.exception())
            done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
            if not done:
                raise DeadlineExceeded(4, f"cannot connect to {self.socket_path} in time")
            if task.cancelled():
                raise Unavailable(14, "the client is closed")
            task.result()  # raises the connection error

    async def _open(self) -> _Connection:
        try:
            connection = await _connect(self.socket_path, self.max_calls, self.timeout)
        finally:
            self._connecting = None
        self.connections_opened += 1
        if self._closed:
            connection.close(Unavailable(14, "the client is closed"))
            raise Unavailable(14, "the client is closed")
        old, self._connection = self._connection, connection
        if old is not None and old.error is None:
            old.retire()
        return connection

    def _check_hops(self, hops: int, connection: _Connection) -> None:
        """A call moved off connection after connection (each said GOAWAY at once, e.g. the daemon's
        ``max_connections``) gives up with the last GOAWAY's status instead of opening more."""
        if hops <= _MAX_HOPS:
            return
        if connection.goaway:
            raise error_for(connection.goaway, f"{self.socket_path}: GOAWAY: {connection.goaway_text}")
        if self._closed:
            raise Unavailable(14, "the client is closed")
        raise Unavailable(14, f"{self.socket_path}: the daemon keeps closing new connections")

    async def _call(self, method: int, payload: bytes, wait: float, retry: bool = True) -> bytes:
        """One unary call: the OK reply's payload, or the status as an exception. A call whose connection broke
        before its reply is retried once on a new connection (``retry``); everything within ``wait`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        attempt = hops = 0
        while True:
            connection = await self._current(deadline)
            try:
                await connection.acquire(deadline)
            except _Retarget:
                hops += 1
                self._check_hops(hops, connection)
                continue
            try:
                code, body = await connection.call(method, payload, deadline)
            except _Retarget:
                hops += 1
                self._check_hops(hops, connection)
                continue
            except Broken as broken:
                if connection is self._connection:
                    self._connection = None  # the next call reconnects
                if attempt == 0 and retry and not self._closed:
                    attempt += 1
                    continue
                raise _lost(broken, self.socket_path, self.socket_path) from None
            finally:
                connection.release()
            if code:
                text = body.decode("utf-8", "replace")
                if code == 8 and _OVER_LIMIT in text and connection.max_calls > 1:
                    # The daemon's max_calls_per_connection is lower than ours: keep under it, wait again.
                    connection.max_calls = max(1, min(connection.max_calls, connection.in_flight) - 1)
                    self.max_calls = connection.max_calls
                    continue
                raise error_for(code, text)
            return body


# --------------------------------------------------------------------------------------------------------------
# Watch

_Item = Tuple[str, Any]


class Watch(_Stream):
    """A Watch stream on a connection of its own (see :meth:`Client.watch`): ``async for event in watch``.

    Iterate it from one task; ``await close()`` may come from any task of the loop and ends the iteration.
    While no event arrives for ``heartbeat`` seconds the client PINGs the daemon and expects an answer within
    ``timeout``. At most a few dozen received events are held: past that the connection is not read until the
    iterating task catches up (and the daemon ends a Watch whose client does not read, RESOURCE_EXHAUSTED)."""

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
        self._request = _watch_payload(tenants, providers)
        self.socket_path = socket_path
        self.timeout = timeout
        self.heartbeat = heartbeat
        self._connection: Optional[_Connection] = None
        self._items: Deque[_Item] = collections.deque()
        self._wakeup: Optional["asyncio.Future[None]"] = None
        self._ponged = False
        self._paused = False
        self._closed = False
        self._ended = False
        self._call_id = self.CALL_ID

    # -- what the connection reports ---------------------------------------------------------------------------

    def _push(self, item: _Item) -> None:
        self._items.append(item)
        if len(self._items) >= _WATCH_BACKLOG and not self._paused and self._connection is not None:
            transport = self._connection.transport
            if transport is not None and self._connection.error is None:
                transport.pause_reading()
                self._paused = True
        self._wake()

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def message(self, flags: int, body: bytes) -> None:
        self._push(("message", (flags, body)))

    def end(self, code: int, body: bytes) -> None:
        self._push(("end", (code, body)))

    def fail(self, error: BaseException) -> None:
        self._push(("error", error))

    def pong(self) -> None:
        self._ponged = True
        self._wake()

    # -- iteration ---------------------------------------------------------------------------------------------

    async def _start(self) -> None:
        self._connection = await _connect(self.socket_path, 1, self.timeout)
        self._call_id = self._connection.open_stream(WATCH, self._request, self)

    def __aiter__(self) -> "Watch":
        return self

    async def __anext__(self) -> WatchEvent:
        if self._ended or self._closed:
            raise StopAsyncIteration
        try:
            if self._connection is None:
                await self._start()
                if self._closed:  # closed while connecting
                    self._end()
                    raise StopAsyncIteration
            return await self._next()
        except Broken as broken:
            self._end()
            if self._closed:
                raise StopAsyncIteration from None
            raise _lost(broken, "the daemon ended the Watch", "the Watch connection was lost") from None
        except Error:
            self._end()
            if self._closed:
                raise StopAsyncIteration from None
            raise

    async def _next(self) -> WatchEvent:
        loop = asyncio.get_running_loop()
        pinged_at: Optional[float] = None
        quiet_since = loop.time()
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._items:
                kind, value = self._items.popleft()
                if self._paused and len(self._items) < _WATCH_BACKLOG // 2 and self._connection is not None:
                    self._paused = False
                    if self._connection.transport is not None and self._connection.error is None:
                        self._connection.transport.resume_reading()
                if kind == "message":
                    flags, body = value
                    return _watch_event(flags, body)
                if kind == "end":
                    code, body = value
                    self._end()
                    if code in (0, 1) or self._closed:
                        raise StopAsyncIteration
                    raise error_for(code, body.decode("utf-8", "replace"))
                raise value  # the connection failed
            now = loop.time()
            if self._ponged:  # the daemon answered: quiet from now on
                self._ponged = False
                pinged_at = None
                quiet_since = now
            deadline = quiet_since + self.heartbeat if pinged_at is None else pinged_at + self.timeout
            if now >= deadline:
                if pinged_at is not None:
                    raise DeadlineExceeded(4, "the daemon did not answer the Watch's PING in time")
                pinged_at = now
                assert self._connection is not None
                self._connection.send(_wire.frame(PING, 0, 0, 0, b"jwksd-py"))
                continue
            wakeup = self._wakeup = loop.create_future()
            try:
                await asyncio.wait({wakeup}, timeout=deadline - now)
            finally:
                self._wakeup = None

    def _end(self) -> None:
        self._ended = True
        connection = self._connection
        if connection is not None:
            connection.close(Unavailable(14, "the Watch ended"))

    async def close(self) -> None:
        """Cancels the Watch (CANCEL) and closes its connection; iteration then stops."""
        if self._closed:
            return
        self._closed = True
        connection = self._connection
        if connection is not None:
            if not self._ended and connection.error is None:
                connection.send(_wire.frame(CANCEL, 0, WATCH, self._call_id))
            connection.close(Unavailable(14, "the Watch was closed"))
        self._wake()

    async def __aenter__(self) -> "Watch":
        if self._connection is None and not self._closed:
            await self._start()
            if self._closed:
                self._end()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()
