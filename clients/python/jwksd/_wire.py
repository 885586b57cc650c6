"""Frames and one connection (Protocol/PROTOCOL.md §1-2, §4). Internal: use :class:`jwksd.Client`.

A :class:`Connection` is a blocking Unix stream socket with ``SO_RCVTIMEO``/``SO_SNDTIMEO`` set, so a call costs
one ``send`` and (usually) one ``recv``, with no ``poll`` before each; the timeouts bound every wait, and a
frame that arrives in pieces is also bounded by the call's overall deadline (a peer dripping bytes cannot
stretch a call). Frames are capped at 64 MiB and compressed payloads inflate to at most 64 MiB.
"""

from __future__ import annotations

import socket
import struct
import time
import zlib
from typing import List, Optional, Tuple

from .errors import DeadlineExceeded, ProtocolError, Unavailable

VERSION = 1
# Frame kinds (PROTOCOL.md §1).
REQUEST, RESPONSE, MESSAGE, CANCEL, GOAWAY, PING, PONG = range(1, 8)
# Flags.
COMPRESSED, ACCEPT_COMPRESSED = 0x01, 0x02
# Methods (PROTOCOL.md §3).
GET_KEY, GET_KEY_SET, LIST_TENANTS, STATUS, REFRESH, RELOAD, WATCH, HEALTH, VERIFY_JWT = range(1, 10)

HEADER = struct.Struct(">IBBBBI")  # length, version, kind, flags, code, call id
_AFTER_LENGTH = struct.Struct(">BBBBI")
#: The largest payload accepted from the daemon (PROTOCOL.md §3a: a client should accept replies up to 64 MiB).
MAX_PAYLOAD = 64 * 1024 * 1024
#: The largest size a compressed payload may inflate to.
MAX_INFLATED = 64 * 1024 * 1024
_RECV = 65536

_monotonic = time.monotonic


class Broken(Exception):
    """The connection is unusable (EOF, reset, broken pipe, GOAWAY). Internal: the client retries or raises
    :class:`~jwksd.Unavailable`. ``goaway`` is the GOAWAY status when the daemon said goodbye, else None."""

    def __init__(self, message: str, goaway: Optional[int] = None) -> None:
        super().__init__(message)
        self.goaway = goaway


def frame(kind: int, flags: int, code: int, call_id: int, payload: bytes = b"") -> bytes:
    """One encoded frame."""
    return HEADER.pack(8 + len(payload), VERSION, kind, flags, code, call_id) + payload


def inflate(body: bytes, limit: int = MAX_INFLATED) -> bytes:
    """A COMPRESSED payload: exactly one complete zlib stream inflating to at most ``limit`` bytes."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, limit)
    except zlib.error as error:
        raise ProtocolError(14, f"compressed payload does not inflate: {error}") from None
    if inflater.unconsumed_tail:
        raise ProtocolError(14, f"compressed payload inflates past {limit} bytes")
    if not inflater.eof or inflater.unused_data:
        raise ProtocolError(14, "compressed payload is not exactly one complete zlib stream")
    return out


def length_error(path: str, length: int) -> ProtocolError:
    """The error for a frame whose length field is below 8 or above :data:`MAX_PAYLOAD` + 8."""
    return ProtocolError(14, f"{path}: frame length {length} is out of range (not a jwksd socket?)")


def header_error(path: str, version: int, kind: int, flags: int) -> ProtocolError:
    """The error for a frame header with another version, an undefined kind or an undefined flag bit."""
    if version != VERSION:
        return ProtocolError(14, f"{path}: the peer speaks protocol version {version}")
    return ProtocolError(14, f"{path}: malformed frame (kind {kind}, flags {flags:#x})")


def client_frame_error(path: str, kind: int) -> ProtocolError:
    """The error for a REQUEST or CANCEL frame sent by the peer (a server never sends them)."""
    return ProtocolError(14, f"{path}: the peer sent a client's frame (kind {kind})")


def _timeval(seconds: float) -> bytes:
    # 0 would mean "no timeout" to the kernel: the smallest positive value instead.
    micros = max(1, int(seconds * 1_000_000))
    return struct.pack("@ll", micros // 1_000_000, micros % 1_000_000)


class Connection:
    """One connection: a blocking socket whose every wait is bounded.

    Not thread-safe by itself: the client's pool hands a connection to one thread at a time."""

    __slots__ = ("path", "sock", "_buffer", "_timeout", "_next_id", "__weakref__")

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout if timeout > 0 else 0.001)
            sock.connect(path)
            sock.settimeout(None)  # blocking; the kernel's SO_RCVTIMEO / SO_SNDTIMEO bound the waits
        except socket.timeout:
            sock.close()
            raise Unavailable(14, f"cannot connect to {path}: timed out") from None
        except OSError as error:
            sock.close()
            raise Unavailable(14, f"cannot connect to {path}: {error.strerror or error}") from None
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._buffer = b""
        self._timeout = -1.0
        self._next_id = 1
        self.set_timeout(timeout)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def shutdown(self) -> None:
        """Wakes a thread blocked on this connection (it sees EOF); safe from any thread."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def set_timeout(self, seconds: float) -> None:
        """Bounds each blocking send and receive (a syscall, so only when the value changes)."""
        if seconds != self._timeout:
            value = _timeval(seconds)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
            self._timeout = seconds

    def next_call_id(self) -> int:
        call_id = self._next_id
        self._next_id = call_id + 1 if call_id < 0xFFFFFFFF else 1
        return call_id

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except BlockingIOError:
            raise DeadlineExceeded(4, f"{self.path}: the daemon did not read our request in time") from None
        except OSError as error:
            raise Broken(f"send failed: {error.strerror or error}") from None

    def call(self, method: int, payload: bytes, timeout: float) -> Tuple[int, bytes]:
        """One unary call: sends the REQUEST (ACCEPT_COMPRESSED) and returns (status code, payload inflated).

        Raises :class:`Broken` when the connection fails before the reply, :class:`DeadlineExceeded` when no
        reply comes within ``timeout`` seconds, :class:`ProtocolError` for a peer that does not speak jwksd."""
        call_id = self.next_call_id()
        request = HEADER.pack(8 + len(payload), VERSION, REQUEST, ACCEPT_COMPRESSED, method, call_id) + payload
        return self.call_frame(request, call_id, timeout)

    def call_frame(self, request: bytes, call_id: int, timeout: float) -> Tuple[int, bytes]:
        """:meth:`call` with the REQUEST frame already encoded (its call id ``call_id``).

        The fast path, taken when the reply arrives in one read and is this call's RESPONSE, costs a send, a
        receive and a header unpack; anything else (a partial frame, a PING, a GOAWAY...) takes the general
        loop, bounded by the same deadline."""
        if timeout != self._timeout:
            self.set_timeout(timeout)
        start = _monotonic()
        sock = self.sock
        try:
            sock.sendall(request)
        except BlockingIOError:
            raise DeadlineExceeded(4, f"{self.path}: the daemon did not read our request in time") from None
        except OSError as error:
            raise Broken(f"send failed: {error.strerror or error}") from None
        fresh = True
        if not self._buffer:
            try:
                data = sock.recv(_RECV)
            except BlockingIOError:
                raise DeadlineExceeded(4, f"no reply from {self.path} in time") from None
            except OSError as error:
                raise Broken(f"receive failed: {error.strerror or error}") from None
            if not data:
                raise Broken("the daemon closed the connection")
            if len(data) >= 12:
                length, version, kind, flags, code, frame_id = HEADER.unpack_from(data)
                if (
                    length + 4 == len(data)
                    and kind == RESPONSE
                    and frame_id == call_id
                    and version == VERSION
                    and not flags & ~ACCEPT_COMPRESSED
                ):
                    return code, data[12:]
            self._buffer = data
            fresh = False
        deadline = start + timeout
        while True:
            kind, flags, code, frame_id, body = self.read_frame(deadline, fresh)
            fresh = False
            if kind == RESPONSE:
                if frame_id != call_id:
                    continue  # a late reply to a call given up earlier
                if flags & COMPRESSED:
                    body = inflate(body)
                return code, body
            if kind == PING:
                self.send(frame(PONG, 0, 0, frame_id, body))
            elif kind == GOAWAY:
                raise Broken("GOAWAY: " + body.decode("utf-8", "replace"), goaway=code)
            elif kind in (REQUEST, CANCEL):
                raise client_frame_error(self.path, kind)
            # MESSAGE (a stream's item) and PONG: not for a unary call; skipped.

    def read_frame(self, deadline: float, fresh: bool = False) -> Tuple[int, int, int, int, bytes]:
        """The next frame as (kind, flags, code, call id, payload), waiting until ``deadline`` (monotonic).

        ``fresh``: the socket's timeout was just set to the whole time left, so the first read may use it as
        is (the fast path: no clock read, no setsockopt)."""
        buffer = self._buffer
        if len(buffer) < 12:
            buffer = self._fill(buffer, 12, deadline, fresh)
            fresh = False
        length = int.from_bytes(buffer[:4], "big")
        if length < 8 or length > MAX_PAYLOAD + 8:
            raise length_error(self.path, length)
        end = 4 + length
        if len(buffer) < end:
            buffer = self._fill(buffer, end, deadline, fresh)
        version, kind, flags, code, call_id = _AFTER_LENGTH.unpack_from(buffer, 4)
        if version != VERSION or kind < REQUEST or kind > PONG or flags & ~(COMPRESSED | ACCEPT_COMPRESSED):
            raise header_error(self.path, version, kind, flags)
        if end == len(buffer):
            body = buffer[12:]
            self._buffer = b""
        else:
            body = buffer[12:end]
            self._buffer = buffer[end:]
        return kind, flags, code, call_id, body

    def _fill(self, buffer: bytes, need: int, deadline: float, fresh: bool) -> bytes:
        """Reads until ``need`` bytes are buffered, each read bounded by what is left until ``deadline`` (a
        ``fresh`` first read uses the socket's timeout as set), so a peer dripping bytes or PINGs cannot
        stretch the wait."""
        chunks: List[bytes] = [buffer] if buffer else []
        have = len(buffer)
        first = fresh
        try:
            while have < need:
                if not first:
                    remaining = deadline - _monotonic()
                    if remaining <= 0:
                        raise BlockingIOError
                    self.set_timeout(remaining)
                first = False
                chunk = self.sock.recv(max(_RECV, min(need - have, 1 << 20)))
                if not chunk:
                    raise Broken("the daemon closed the connection")
                chunks.append(chunk)
                have += len(chunk)
        except BlockingIOError:
            self._buffer = b"".join(chunks)  # kept: a reader that waits again (a Watch) resumes the frame
            raise DeadlineExceeded(4, f"no reply from {self.path} in time") from None
        except OSError as error:
            raise Broken(f"receive failed: {error.strerror or error}") from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
