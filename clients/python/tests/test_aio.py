"""jwksd.aio.Client: every method against a live daemon, one multiplexed connection, CANCEL on deadline and
cancellation, reconnection, GOAWAY, hostile peers, and the async Watch. Coroutines run under asyncio.run."""

from __future__ import annotations

import asyncio
import gc
import os
import struct
import threading
import time
import tracemalloc
import zlib
from typing import Any, Callable, Coroutine, List, Optional, Tuple

import pytest
from conftest import AUDIENCE, ISSUER, ec_key, write_jwks
from fake import FakeConnection, FakeServer

import jwksd
import jwksd.aio
from jwksd import _wire
from jwksd.v1 import jwksd_pb2 as pb


def run(coroutine: Coroutine[Any, Any, Any], seconds: float = 10.0) -> Any:
    """Runs a test coroutine, bounded: a hang fails the test instead of blocking the suite."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine, seconds)

    return asyncio.run(bounded())


def sockets(pid: int) -> int:
    """The sockets process ``pid`` holds open (from /proc: the kernel's view, not the client's)."""
    count = 0
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:")
        except OSError:
            pass
    return count


# -- against the live daemon ---------------------------------------------------------------------------------------


def test_every_method_and_its_errors(shared) -> None:
    keys = shared.keys
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 600, "iat": now}

    async def main() -> None:
        async with jwksd.aio.Client(shared.socket) as client:
            assert await client.get_key("acme", "rsa-1") == keys["rsa"].jwk
            assert await client.get_key("acme", "ec-1", provider="login", alg="ES256") == keys["ec"].jwk
            assert await client.get_key("acme", "shared") == keys["shared-login"].jwk
            info = await client.get_key_info("acme", "rsa-1")
            assert isinstance(info, jwksd.KeyInfo) and (info.provider, info.kid, info.matches) == ("login", "rsa-1", 1)
            document = await client.get_key_set("acme", "login")  # a compressed reply (compress_min_bytes: 64)
            assert [key["kid"] for key in document["keys"]] == ["rsa-1", "ec-1", "ed-1", "shared"]
            assert await client.list_tenants() == {"acme": ["login", "backup"], "broken": ["missing"]}
            status = await client.status("acme")
            assert isinstance(status, jwksd.Status)
            assert [(p.provider, p.standing) for p in status.providers] == [("login", "fresh"), ("backup", "fresh")]
            health = await client.health()
            assert isinstance(health, jwksd.Health) and health.serving and health.providers == 3
            verified = await client.verify(keys["ec"].token(claims), "acme", provider="login")
            assert isinstance(verified, jwksd.Verified) and verified.claims == claims and verified.kid == "ec-1"

            # The blocking client's error classes and messages.
            with pytest.raises(jwksd.NotFound) as missing:
                await client.get_key("acme", "nope", provider="login")
            assert str(missing.value).startswith('NOT_FOUND: kid "nope"')
            with jwksd.Client(shared.socket) as blocking:
                with pytest.raises(jwksd.NotFound) as same:
                    blocking.get_key("acme", "nope", provider="login")
            assert str(missing.value) == str(same.value)
            with pytest.raises(jwksd.NotFound) as secret:
                await client.get_key("secret", "rsa-1")
            assert secret.value.message == 'unknown tenant "secret"'
            with pytest.raises(jwksd.NotFound):
                await client.status("secret")
            with pytest.raises(jwksd.NotFound):
                await client.get_key_set("acme", "nope")
            with pytest.raises(jwksd.InvalidArgument):
                await client.get_key("acme", "rsa-1", alg="HS256")
            with pytest.raises(jwksd.InvalidArgument):
                await client.get_key("acme", "\ud800")  # not encodable: refused before sending
            with pytest.raises(jwksd.Unavailable) as broken:
                await client.get_key("broken", "x", provider="missing")
            assert broken.value.code == 14
            with pytest.raises(jwksd.InvalidToken) as refused:
                await client.verify(keys["ec"].token(dict(claims, exp=now - 3600)), "acme", provider="login")
            assert refused.value.reason == "expired"
            with pytest.raises(jwksd.InvalidArgument):  # no audience to check
                await client.verify(keys["backup"].token(claims), "acme", provider="backup")
            assert client.connections_opened == 1
        with pytest.raises(jwksd.Unavailable):
            await client.health()  # closed
        with pytest.raises(jwksd.Unavailable) as absent:
            await jwksd.aio.Client(os.path.join(os.path.dirname(shared.socket), "none.sock")).health()
        assert absent.value.message.startswith("cannot connect to")

    run(main())


def test_permission_denied(daemon_factory) -> None:
    key = ec_key("k")
    daemon = daemon_factory(
        "version: 1\nserver: { socket: ./jwksd.sock, admin_uids: [4242] }\n"
        "tenants:\n  t:\n    providers:\n      p: { file: ./p.json }\n",
        files={"p.json": [key.jwk]},
    )

    async def main() -> None:
        async with jwksd.aio.Client(daemon.socket) as client:
            with pytest.raises(jwksd.PermissionDenied):
                await client.refresh("t")
            with pytest.raises(jwksd.PermissionDenied):
                await client.reload()
            assert await client.get_key("t", "k") == key.jwk

    run(main())


def test_a_thousand_concurrent_calls_share_one_connection(shared) -> None:
    kids = [("rsa-1", "rsa"), ("ec-1", "ec"), ("ed-1", "ed"), ("backup-1", "backup")]
    daemon_pid = shared.daemon.process.pid

    async def main() -> None:
        client = jwksd.aio.Client(shared.socket)
        gc.collect()  # connections earlier tests left to the garbage collector close now, not mid-count
        await asyncio.sleep(0.05)
        before = (sockets(daemon_pid), sockets(os.getpid()))
        results = await asyncio.gather(*(client.get_key("acme", kids[n % 4][0]) for n in range(1000)))
        for number, jwk in enumerate(results):
            assert jwk == shared.keys[kids[number % 4][1]].jwk
        # Another burst, with errors mixed in: each call gets its own answer.
        mixed = await asyncio.gather(
            *(client.get_key("acme", "rsa-1" if n % 2 else f"absent-{n}") for n in range(1000)), return_exceptions=True
        )
        for number, outcome in enumerate(mixed):
            if number % 2:
                assert outcome == shared.keys["rsa"].jwk
            else:
                assert isinstance(outcome, jwksd.NotFound) and f'"absent-{number}"' in outcome.message
        during = (sockets(daemon_pid), sockets(os.getpid()))
        assert client.connections_opened == 1
        assert during == (before[0] + 1, before[1] + 1), (before, during)  # one more socket on each side
        await client.close()

    run(main(), seconds=30)


def test_daemon_restart(daemon_factory) -> None:
    key = ec_key("k")
    daemon = daemon_factory(
        "version: 1\nserver: { socket: ./jwksd.sock }\ntenants:\n  t:\n    providers:\n      p: { file: ./p.json }\n",
        files={"p.json": [key.jwk]},
    )

    async def main() -> None:
        client = jwksd.aio.Client(daemon.socket, timeout=2)
        assert await client.get_key("t", "k") == key.jwk
        await asyncio.get_running_loop().run_in_executor(None, daemon.stop)
        with pytest.raises(jwksd.Unavailable):
            await client.get_key("t", "k")
        await asyncio.get_running_loop().run_in_executor(None, daemon.start)
        results = await asyncio.gather(*(client.get_key("t", "k") for _ in range(50)))
        assert results == [key.jwk] * 50
        assert client.connections_opened == 2
        await client.close()
        with pytest.raises(jwksd.Unavailable):
            await client.health()

    run(main(), seconds=20)


def test_watch_sees_a_rotation(daemon_factory) -> None:
    first, second = ec_key("w-1"), ec_key("w-2")
    daemon = daemon_factory(
        "version: 1\nserver: { socket: ./jwksd.sock }\ndefaults: { min_ttl: 1h, default_ttl: 1h }\n"
        "tenants:\n  t:\n    providers:\n      p: { file: ./p.json }\n      q: { file: ./q.json }\n",
        files={"p.json": [first.jwk], "q.json": [second.jwk]},
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        client = jwksd.aio.Client(daemon.socket)
        events: List[jwksd.WatchEvent] = []

        async def rotate(provider: str, keys: List[Any]) -> None:
            write_jwks(daemon.directory / f"{provider}.json", keys)
            await client.refresh("t", provider)

        async with client.watch(providers=["t/p"]) as watch:

            async def read() -> None:
                async for event in watch:
                    events.append(event)

            reader = loop.create_task(read())
            # A Watch sends no initial state and subscribes asynchronously: rotate until it reports one.
            for attempt in range(50):
                count = len(events)
                await rotate("p", [second.jwk, first.jwk] if attempt % 2 == 0 else [second.jwk])
                for _ in range(40):
                    await asyncio.sleep(0.005)
                    if len(events) > count:
                        break
                if len(events) > count:
                    break
            assert events, "the Watch never reported a rotation"
            count = len(events)
            await rotate("q", [first.jwk])  # not followed
            await rotate("p", [first.jwk, second.jwk])
            while len(events) == count:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.1)
        await asyncio.wait_for(reader, 5)  # closing the Watch ends the iteration
        assert len(events) == count + 1 and all(event.provider == "p" for event in events)
        event = events[-1]
        assert isinstance(event, jwksd.WatchEvent)
        assert (event.tenant, event.kind, sorted(event.kids)) == ("t", "KEYS_CHANGED", ["w-1", "w-2"])

        with pytest.raises(jwksd.NotFound):
            await client.watch(providers=["t/nope"]).__anext__()
        with pytest.raises(jwksd.InvalidArgument):
            await client.watch(providers=["not a selector"]).__anext__()
        # The daemon stopping ends a Watch with UNAVAILABLE.
        watch = client.watch()
        await watch.__aenter__()
        await asyncio.sleep(0.1)
        await loop.run_in_executor(None, daemon.stop)
        with pytest.raises(jwksd.Unavailable):
            await watch.__anext__()
        await watch.close()
        await client.close()

    run(main(), seconds=20)


# -- against scripted peers ------------------------------------------------------------------------------------


def health_reply(serving: bool = True) -> Any:
    return pb.HealthResponse(serving=serving, providers=1, ready=1)


def key_reply(kid: str) -> Any:
    return pb.GetKeyResponse(jwk_json=b'{"kid": "%s"}' % kid.encode(), kid=kid, provider="p")


class Recorder:
    """A scripted peer that holds the first REQUEST unanswered, records every frame, answers a CANCEL with
    a late reply for the cancelled id (which the client must drop) and answers later GetKeys with their kid."""

    def __init__(self) -> None:
        self.frames: List[Tuple[int, int, int, int, bytes]] = []
        self.held: Optional[int] = None

    def __call__(self, connection: FakeConnection) -> None:
        while True:
            frame = connection.read_frame(timeout=30)
            if frame is None:
                return
            self.frames.append(frame)
            kind, _, method, call_id, body = frame
            if kind == _wire.REQUEST and self.held is None:
                self.held = call_id
            elif kind == _wire.REQUEST:
                connection.reply(call_id, key_reply(pb.GetKeyRequest.FromString(body).kid))
            elif kind == _wire.CANCEL:
                connection.reply(call_id, key_reply("late"))  # the reply "crossing" the CANCEL

    def cancels(self) -> List[Tuple[int, int]]:
        return [(frame[2], frame[3]) for frame in self.frames if frame[0] == _wire.CANCEL]


def test_deadline_sends_cancel_and_drops_the_late_reply(serve) -> None:
    recorder = Recorder()
    server = serve(recorder)

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=5)
        started = time.monotonic()
        with pytest.raises(jwksd.DeadlineExceeded) as late:
            await client.get_key("t", "first", timeout=0.05)  # waits timeout_ms + 0.5 s for the daemon's answer
        assert 0.5 <= time.monotonic() - started < 1.5 and late.value.code == 4
        assert "in time" in late.value.message
        for _ in range(200):
            if recorder.cancels():
                break
            await asyncio.sleep(0.005)
        assert recorder.cancels() == [(_wire.GET_KEY, recorder.held)]
        # The late reply to the cancelled id reaches no call: each next call gets its own kid.
        for number in range(5):
            assert (await client.get_key("t", f"next-{number}"))["kid"] == f"next-{number}"
        assert client.connections_opened == 1
        requests = [frame[3] for frame in recorder.frames if frame[0] == _wire.REQUEST]
        assert len(set(requests)) == len(requests), "call ids are not reused on a connection"
        await client.close()

    run(main())


def test_task_cancellation_sends_cancel(serve) -> None:
    recorder = Recorder()
    server = serve(recorder)

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=5)
        task = asyncio.get_running_loop().create_task(client.health())
        while recorder.held is None:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(200):
            if recorder.cancels():
                break
            await asyncio.sleep(0.005)
        assert recorder.cancels() == [(_wire.HEALTH, recorder.held)]
        assert (await client.get_key("t", "after"))["kid"] == "after"
        await client.close()

    run(main())


def test_calls_in_flight_when_the_connection_drops_are_retried_once(serve) -> None:
    received: List[int] = []

    def handler(connection: FakeConnection) -> None:
        number = len(received)
        received.append(0)
        pending: List[int] = []
        while True:
            frame = connection.read_frame(timeout=30)
            if frame is None:
                return
            if frame[0] != _wire.REQUEST:
                continue
            received[number] += 1
            if number == 0:
                pending.append(frame[3])
                if len(pending) == 20:
                    connection.close()  # 20 calls in flight, then the "daemon restarts"
                    return
            else:
                connection.reply(frame[3], health_reply())

    server = serve(handler)

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=5)
        results = await asyncio.gather(*(client.health() for _ in range(20)))
        assert all(health.serving for health in results)
        assert received == [20, 20] and client.connections_opened == 2
        await client.close()

    run(main())


def test_admin_calls_are_not_retried_and_repeated_loss_is_unavailable(serve) -> None:
    server = serve(lambda connection: (connection.read_frame(), connection.close()))

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=5)
        with pytest.raises(jwksd.Unavailable) as lost:
            await client.reload()
        assert "closed the connection" in lost.value.message and client.connections_opened == 1
        with pytest.raises(jwksd.Unavailable):
            await client.health()  # retried once, then reported
        assert client.connections_opened == 3
        await client.close()

    run(main())


def test_goaway_drains_then_new_calls_use_a_new_connection(serve) -> None:
    first_id: List[int] = []
    release = threading.Event()

    def handler(connection: FakeConnection) -> None:
        while True:
            frame = connection.read_frame(timeout=30)
            if frame is None:
                return
            if frame[0] != _wire.REQUEST:
                continue
            if not first_id:  # the first call on the first connection: GOAWAY, answer later, then close
                first_id.append(frame[3])
                connection.send(_wire.GOAWAY, 0, 0, 0, b"draining")
                release.wait(10)
                connection.reply(frame[3], health_reply(serving=False))
                connection.close()
                return
            connection.reply(frame[3], health_reply(serving=True))

    server = serve(handler)

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=5)
        first = asyncio.get_running_loop().create_task(client.health())
        while client._connection is None or client._connection.goaway is None:
            await asyncio.sleep(0.005)
        assert (await client.health()).serving  # on a second connection
        assert client.connections_opened == 2 and not first.done()
        release.set()
        assert (await first).serving is False  # the drained connection's call got its own answer
        assert (await client.health()).serving and client.connections_opened == 2
        await client.close()

    run(main())


def test_goaway_at_once_is_reported_not_looped(serve) -> None:
    # What the daemon does past max_connections: GOAWAY at once, then close (the request may be sent or not).
    server = serve(lambda c: (c.send(_wire.GOAWAY, 0, 8, 0, b"too many connections"), c.close()))

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=5)
        for _ in range(20):
            with pytest.raises(jwksd.Error) as error:
                await client.health()
            # The GOAWAY's status; or, when the peer closed before we sent or it read our request, the kernel's
            # EPIPE / reset may reach us before the GOAWAY is read (the blocking client races the same way).
            assert (error.value.status == "RESOURCE_EXHAUSTED" and "too many connections" in error.value.message) or (
                error.value.status == "UNAVAILABLE" and "the connection failed" in error.value.message
            ), error.value
        assert client.connections_opened <= 20 * 5, "no connection loop"
        await client.close()

    run(main())


def test_calls_beyond_max_calls_wait_their_turn(serve) -> None:
    outstanding = [0, 0]  # now, most
    lock = threading.Lock()

    def handler(connection: FakeConnection) -> None:
        def answer(call_id: int) -> None:
            with lock:
                outstanding[0] -= 1
            connection.reply(call_id, health_reply())

        while True:
            frame = connection.read_frame(timeout=30)
            if frame is None:
                return
            if frame[0] == _wire.REQUEST:
                with lock:
                    outstanding[0] += 1
                    over = outstanding[0] > 4
                    outstanding[1] = max(outstanding[1], outstanding[0])
                if over:  # what the daemon answers past max_calls_per_connection
                    with lock:
                        outstanding[0] -= 1
                    connection.reply(frame[3], code=8, text="more than 4 calls in flight on this connection")
                else:
                    threading.Timer(0.01, answer, args=(frame[3],)).start()

    server = serve(handler)

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=5, max_calls=4)
        results = await asyncio.gather(*(client.health() for _ in range(40)))
        assert all(health.serving for health in results) and outstanding[1] == 4
        # A daemon configured lower than the client: its RESOURCE_EXHAUSTED lowers the client's limit.
        other = jwksd.aio.Client(server.path, timeout=5, max_calls=16)
        outstanding[1] = 0
        results = await asyncio.gather(*(other.health() for _ in range(40)))
        assert all(health.serving for health in results) and other.max_calls <= 4
        await client.close()
        await other.close()

    run(main())


def hostile(serve, action: Callable[[FakeConnection, int], None]) -> FakeServer:
    def handler(connection: FakeConnection) -> None:
        frame = connection.read_frame()
        if frame is None:
            return
        action(connection, frame[3])
        connection.read_frame(timeout=10)  # until the client leaves

    return serve(handler)


def test_hostile_peers(serve) -> None:
    bomb = zlib.compress(b"\0" * (65 * 1024 * 1024), 9)
    cases: List[Tuple[str, Callable[[FakeConnection, int], None], type, str]] = [
        ("garbage", lambda c, i: c.raw(b"HTTP/1.1 400 Bad Request\r\n\r\n"), jwksd.ProtocolError, "out of range"),
        ("huge length", lambda c, i: c.raw(struct.pack(">IBBBBI", 0xFFFFFFFF, 1, 2, 0, 0, i)), jwksd.ProtocolError,
         "out of range"),
        ("bad version", lambda c, i: c.raw(struct.pack(">IBBBBI", 8, 2, 2, 0, 0, i)), jwksd.ProtocolError, "version"),
        ("a client's frame", lambda c, i: c.send(_wire.REQUEST, 0, 1, i), jwksd.ProtocolError, "client's frame"),
        ("zlib bomb", lambda c, i: c.send(_wire.RESPONSE, _wire.COMPRESSED, 0, i, bomb), jwksd.ProtocolError,
         "inflates past"),
        ("bad zlib", lambda c, i: c.send(_wire.RESPONSE, _wire.COMPRESSED, 0, i, b"not zlib"), jwksd.ProtocolError,
         "does not inflate"),
        ("undecodable", lambda c, i: c.send(_wire.RESPONSE, 0, 0, i, b"\xff\xff\xff"), jwksd.ProtocolError,
         "does not decode"),
        ("unknown call id", lambda c, i: c.reply(i + 1000, health_reply()), jwksd.DeadlineExceeded, "in time"),
        ("silence", lambda c, i: None, jwksd.DeadlineExceeded, "in time"),
        ("a huge frame never finished", lambda c, i: c.raw(struct.pack(">IBBBBI", 60 << 20, 1, 2, 0, 0, i) + b"x"),
         jwksd.DeadlineExceeded, "in time"),
    ]

    async def one(name: str, action: Callable[[FakeConnection, int], None], kind: type, text: str) -> None:
        server = hostile(serve, action)
        # Other calls in flight on the connection fail with the same precise error (or their deadline).
        async with jwksd.aio.Client(server.path, timeout=0.4) as client:
            started = time.monotonic()
            with pytest.raises(kind) as error:
                await client.health()
            assert text in error.value.message, (name, error.value)
            assert time.monotonic() - started < 1.5, name
        server.close()

    async def main() -> None:
        tracemalloc.start()
        try:
            for case in cases:
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                await one(*case)
                peak = tracemalloc.get_traced_memory()[1] - before
                # Refused from the length field: nothing buffered. A bomb inflates to the 64 MiB cap, not past.
                limit = 3 * _wire.MAX_INFLATED if case[0] == "zlib bomb" else 1024 * 1024
                assert peak < limit, (case[0], peak)
        finally:
            tracemalloc.stop()

    run(main())


def test_a_malformed_frame_fails_every_call_in_flight(serve) -> None:
    seen: List[int] = []

    def handler(connection: FakeConnection) -> None:
        while True:
            frame = connection.read_frame(timeout=10)
            if frame is None:
                return
            seen.append(frame[3])
            if len(seen) == 10:
                connection.raw(b"\xff" * 16)

    server = serve(handler)

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=5)
        outcomes = await asyncio.gather(*(client.health() for _ in range(10)), return_exceptions=True)
        assert all(isinstance(o, jwksd.ProtocolError) and "out of range" in o.message for o in outcomes), outcomes
        await client.close()

    run(main())


def test_ping_is_answered_and_watch_heartbeat(serve) -> None:
    pongs: List[bytes] = []

    def handler(connection: FakeConnection) -> None:
        frame = connection.read_frame()
        if frame is None:
            return
        connection.send(_wire.PING, 0, 0, 0, b"hello")
        while True:
            frame = connection.read_frame(timeout=10)
            if frame is None:
                return
            if frame[0] == _wire.PONG:
                pongs.append(frame[4])

    server = serve(handler)

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=0.3)
        with pytest.raises(jwksd.DeadlineExceeded):
            await client.health()
        assert pongs == [b"hello"]
        # A Watch whose peer never answers the heartbeat PING gives up instead of waiting for ever.
        watch = client.watch(heartbeat=0.3)
        started = time.monotonic()
        with pytest.raises(jwksd.DeadlineExceeded):
            await watch.__anext__()
        assert time.monotonic() - started < 2.0
        await watch.close()
        await client.close()

    run(main())


def test_a_client_used_from_another_event_loop_reconnects(shared) -> None:
    client = jwksd.aio.Client(shared.socket)
    run(client.health())
    assert run(client.get_key("acme", "rsa-1")) == shared.keys["rsa"].jwk  # a new loop: a new connection
    assert client.connections_opened == 2
    run(client.close())


def test_a_call_waiting_for_a_slot_times_out_without_sending(serve) -> None:
    recorder = Recorder()  # holds the first request, never answers it
    server = serve(recorder)

    async def main() -> None:
        client = jwksd.aio.Client(server.path, timeout=0.3, max_calls=1)
        first = asyncio.get_running_loop().create_task(client.get_key("t", "held", timeout=5))
        await asyncio.sleep(0.05)
        with pytest.raises(jwksd.DeadlineExceeded) as queued:
            await client.health()
        assert "no call slot free" in queued.value.message
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.sleep(0.05)
        kinds = [frame[0] for frame in recorder.frames]
        assert kinds == [_wire.REQUEST, _wire.CANCEL], "the queued call never reached the wire"
        assert (await client.get_key("t", "then"))["kid"] == "then"  # the slot was freed
        await client.close()

    run(main())
