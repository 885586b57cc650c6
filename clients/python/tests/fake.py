"""Fake servers on a Unix socket: scripted peers (hostile or precise) for the client's tests."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from jwksd import _wire
from jwksd.v1 import jwksd_pb2 as pb

Frame = Tuple[int, int, int, int, bytes]


class FakeConnection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.lock = threading.Lock()

    def read_frame(self, timeout: float = 10.0) -> Optional[Frame]:
        """The next frame, or None at EOF."""
        self.sock.settimeout(timeout)
        try:
            while len(self.buffer) < 4 or len(self.buffer) < 4 + struct.unpack(">I", self.buffer[:4])[0]:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None
                self.buffer += chunk
        except OSError:
            return None
        (length,) = struct.unpack(">I", self.buffer[:4])
        frame, self.buffer = self.buffer[: 4 + length], self.buffer[4 + length :]
        _, kind, flags, code, call_id = struct.unpack(">BBBBI", frame[4:12])
        return kind, flags, code, call_id, frame[12:]

    def send(self, kind: int, flags: int, code: int, call_id: int, body: bytes = b"") -> None:
        self.raw(_wire.frame(kind, flags, code, call_id, body))

    def raw(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)

    def reply(self, call_id: int, message: Any = None, code: int = 0, text: str = "") -> None:
        body = message.SerializeToString() if message is not None else text.encode()
        self.send(_wire.RESPONSE, 0, code, call_id, body)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class FakeServer:
    """Accepts connections on ``directory/fake.sock``; each runs ``handler(connection)`` on a thread."""

    _numbers = iter(range(1_000_000))

    def __init__(self, directory: Path, handler: Callable[[FakeConnection], None]) -> None:
        self.path = str(directory / f"fake-{next(self._numbers)}.sock")
        self.handler = handler
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(16)
        self.connections: List[FakeConnection] = []
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            connection = FakeConnection(sock)
            self.connections.append(connection)
            self.accepted += 1
            threading.Thread(target=self._run, args=(connection,), daemon=True).start()

    def _run(self, connection: FakeConnection) -> None:
        try:
            self.handler(connection)
        except OSError:
            pass

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        for connection in self.connections:
            connection.close()


class MiniDaemon:
    """A scripted jwksd speaking just enough for a KeyCache: ListTenants, Status, Watch, GetKeySet, GetKey.

    ``hold`` True queues GetKeySet requests instead of answering them (``release`` answers the oldest).
    ``push`` sends a Watch event on every connection that subscribed."""

    def __init__(self, directory: Path, tenants: Dict[str, List[str]], documents: Dict[Tuple[str, str], List[Any]]):
        self.tenants = tenants
        self.documents = documents
        self.generation = 1
        self.hold = False
        self.held: List[Tuple[FakeConnection, int, Tuple[str, str]]] = []
        self.requests: List[Tuple[int, Any]] = []
        self.watches: List[Tuple[FakeConnection, int]] = []
        self.answer_status = True
        self.answers: Dict[str, Any] = {}  # kid -> the key GetKey answers (else NOT_FOUND)
        self.lock = threading.Lock()
        self.server = FakeServer(directory, self._handle)
        self.path = self.server.path

    def _handle(self, connection: FakeConnection) -> None:
        while True:
            frame = connection.read_frame(timeout=60)
            if frame is None:
                return
            kind, _, method, call_id, body = frame
            if kind != _wire.REQUEST:
                continue
            with self.lock:
                self.requests.append((method, body))
            if method == _wire.LIST_TENANTS:
                reply = pb.ListTenantsResponse()
                for tenant, providers in self.tenants.items():
                    reply.tenants.add(id=tenant, providers=providers)
                connection.reply(call_id, reply)
            elif method == _wire.STATUS:
                if self.answer_status:
                    connection.reply(call_id, pb.StatusResponse(config_generation=self.generation))
            elif method == _wire.WATCH:
                with self.lock:
                    self.watches.append((connection, call_id))
            elif method == _wire.GET_KEY_SET:
                request = pb.GetKeySetRequest.FromString(body)
                key = (request.tenant, request.provider)
                with self.lock:
                    if self.hold:
                        self.held.append((connection, call_id, key))
                        continue
                self._answer_set(connection, call_id, key, self.documents[key])
            elif method == _wire.GET_KEY:
                kid = pb.GetKeyRequest.FromString(body).kid
                if kid in self.answers:
                    jwk = json.dumps(self.answers[kid]).encode()
                    connection.reply(call_id, pb.GetKeyResponse(jwk_json=jwk, kid=kid, provider="p"))
                else:
                    connection.reply(call_id, code=5, text="not found (fake)")
            else:
                connection.reply(call_id, code=12, text="unimplemented (fake)")

    @staticmethod
    def _answer_set(connection: FakeConnection, call_id: int, key: Tuple[str, str], keys: List[Any]) -> None:
        document = json.dumps({"keys": keys}).encode()
        reply = pb.GetKeySetResponse(jwks_json=document, provider=key[1], key_count=len(keys))
        connection.reply(call_id, reply)

    def release(self, keys: List[Any]) -> Tuple[str, str]:
        """Answers the oldest held GetKeySet with ``keys``."""
        with self.lock:
            connection, call_id, key = self.held.pop(0)
        self._answer_set(connection, call_id, key, keys)
        return key

    def push(self, tenant: str, provider: str, kind: int = 1, key_count: int = 1) -> None:
        event = pb.WatchEvent(tenant=tenant, provider=provider, kind=kind, at=int(time.time()), key_count=key_count)
        body = event.SerializeToString()
        for connection, call_id in list(self.watches):
            try:
                connection.send(_wire.MESSAGE, 0, 0, call_id, body)
            except OSError:
                pass

    def count(self, method: int) -> int:
        with self.lock:
            return sum(1 for m, _ in self.requests if m == method)

    def close(self) -> None:
        self.server.close()
