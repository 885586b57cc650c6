"""A hostile or broken peer (or a socket path pointing at something else) cannot make the client hang or hold
unbounded memory; and the KeyCache's consistency rules, checked against a scripted peer frame by frame."""

from __future__ import annotations

import struct
import threading
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any, Callable, List

import pytest
from conftest import ec_key, eventually
from fake import FakeConnection, MiniDaemon

import jwksd
from jwksd import _wire
from jwksd.v1 import jwksd_pb2 as pb


def after_request(action: Callable[[FakeConnection, int], None]) -> Callable[[FakeConnection], None]:
    """A handler that reads one REQUEST, then does ``action(connection, call_id)`` and holds the connection."""

    def handler(connection: FakeConnection) -> None:
        frame = connection.read_frame()
        if frame is None:
            return
        action(connection, frame[3])
        connection.read_frame(timeout=30)  # until the client leaves

    return handler


def timed(call: Callable[[], Any]) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def test_http_server_on_the_socket_is_a_protocol_error(serve) -> None:
    server = serve(after_request(lambda c, _: c.raw(b"HTTP/1.1 400 Bad Request\r\n\r\n")))
    client = jwksd.Client(server.path, timeout=5)
    with pytest.raises(jwksd.ProtocolError) as error:
        client.health()
    assert isinstance(error.value, jwksd.Unavailable) and "out of range" in error.value.message


@pytest.mark.parametrize("length", [0, 7, 0xFFFFFFFF, 64 * 1024 * 1024 + 9])
def test_bad_lengths_are_refused_before_any_payload(serve, length: int) -> None:
    server = serve(after_request(lambda c, i: c.raw(struct.pack(">IBBBBI", length, 1, 2, 0, 0, i))))
    tracemalloc.start()
    try:
        with pytest.raises(jwksd.ProtocolError):
            jwksd.Client(server.path, timeout=5).health()
        assert tracemalloc.get_traced_memory()[1] < 1024 * 1024
    finally:
        tracemalloc.stop()


def test_bad_version_kind_and_flags(serve) -> None:
    # (version, kind, flags, code): version 2; kind 9; an undefined flag; a REQUEST from the server.
    for version, kind, flags, code in [(2, 2, 0, 0), (1, 9, 0, 0), (1, 2, 0x80, 0), (1, 1, 0, 1)]:
        header = (8, version, kind, flags, code)
        server = serve(after_request(lambda c, i, h=header: c.raw(struct.pack(">IBBBBI", *h, i))))
        with pytest.raises(jwksd.ProtocolError):
            jwksd.Client(server.path, timeout=5).health()
        server.close()


def test_silence_ends_at_the_deadline(serve) -> None:
    server = serve(after_request(lambda c, i: None))
    client = jwksd.Client(server.path, timeout=0.3)
    with pytest.raises(jwksd.DeadlineExceeded):
        assert timed(client.health) < 1.0
    started = time.monotonic()
    with pytest.raises(jwksd.DeadlineExceeded):
        client.get_key("t", "k")  # waits timeout_ms + a margin for the daemon's own answer
    assert time.monotonic() - started < 1.5


def test_a_slow_peer_gets_at_most_max_connections(serve) -> None:
    def slow(connection: FakeConnection) -> None:  # answers every call, 50 ms late
        while (frame := connection.read_frame()) is not None:
            time.sleep(0.05)
            connection.reply(frame[3], pb.HealthResponse(serving=True))

    server = serve(slow)
    client = jwksd.Client(server.path, timeout=5.0, max_connections=2)
    answered: List[bool] = []

    def worker() -> None:
        for _ in range(3):
            answered.append(client.health().serving)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answered == [True] * 24
    assert server.accepted == 2  # eight threads, two connections, reused


def test_a_call_waiting_for_a_connection_keeps_its_deadline(serve) -> None:
    server = serve(after_request(lambda c, i: None))  # never answers: the one connection stays busy
    client = jwksd.Client(server.path, timeout=1.0, max_connections=1)
    first: List[BaseException] = []

    def hold() -> None:
        try:
            client.health()
        except jwksd.Error as error:
            first.append(error)

    holder = threading.Thread(target=hold)
    holder.start()
    assert eventually(lambda: server.accepted == 1)
    client.timeout = 0.3  # this call's deadline ends while the first call still holds the connection
    started = time.monotonic()
    with pytest.raises(jwksd.DeadlineExceeded, match="max_connections"):
        client.health()
    assert 0.25 < time.monotonic() - started < 0.9
    holder.join(5)
    assert len(first) == 1 and isinstance(first[0], jwksd.DeadlineExceeded)
    with pytest.raises(ValueError):
        jwksd.Client(server.path, max_connections=0)


def test_a_dripping_peer_cannot_stretch_the_deadline(serve) -> None:
    def drip(connection: FakeConnection, call_id: int) -> None:
        connection.raw(struct.pack(">IBBBBI", 8 + 100, 1, 2, 0, 0, call_id))
        for _ in range(100):
            time.sleep(0.05)
            connection.raw(b"x")

    server = serve(after_request(drip))
    started = time.monotonic()
    with pytest.raises(jwksd.DeadlineExceeded):
        jwksd.Client(server.path, timeout=0.5).health()
    assert time.monotonic() - started < 1.2


def test_a_ping_flood_is_answered_and_cannot_stretch_the_deadline(serve) -> None:
    pongs: List[bytes] = []

    def flood(connection: FakeConnection, call_id: int) -> None:
        def read_pongs() -> None:
            while True:
                frame = connection.read_frame(timeout=5)
                if frame is None:
                    return
                if frame[0] == _wire.PONG:
                    pongs.append(frame[4])

        threading.Thread(target=read_pongs, daemon=True).start()
        for number in range(100_000):
            try:
                connection.send(_wire.PING, 0, 0, 0, b"%d" % number)
            except OSError:
                return
            time.sleep(0.001)

    server = serve(after_request(flood))
    started = time.monotonic()
    with pytest.raises(jwksd.DeadlineExceeded):
        jwksd.Client(server.path, timeout=0.5).health()
    assert time.monotonic() - started < 1.2
    assert pongs and pongs[0] == b"0"


def test_zlib_bomb_and_bad_zlib(serve) -> None:
    bomb = zlib.compress(b"\0" * (65 * 1024 * 1024), 9)
    assert len(bomb) < 100_000
    server = serve(after_request(lambda c, i: c.send(_wire.RESPONSE, _wire.COMPRESSED, 0, i, bomb)))
    with pytest.raises(jwksd.ProtocolError) as error:
        jwksd.Client(server.path, timeout=5).health()
    assert "inflates past" in error.value.message
    server.close()
    for payload in (b"not zlib at all", zlib.compress(b"{}")[:-3], zlib.compress(b"a") + zlib.compress(b"b")):
        server = serve(after_request(lambda c, i, p=payload: c.send(_wire.RESPONSE, _wire.COMPRESSED, 0, i, p)))
        with pytest.raises(jwksd.ProtocolError):
            jwksd.Client(server.path, timeout=5).health()
        server.close()


def test_eof_before_the_reply_is_retried_once(serve) -> None:
    server = serve(lambda connection: connection.close())
    with pytest.raises(jwksd.Unavailable) as error:
        jwksd.Client(server.path, timeout=5).health()
    assert "closed the connection" in error.value.message or "failed" in error.value.message
    assert eventually(lambda: server.accepted == 2, seconds=2, what="one retry")
    time.sleep(0.1)
    assert server.accepted == 2, "retried once, not more"


def test_goaway_is_retried_then_reported(serve) -> None:
    server = serve(after_request(lambda c, i: (c.send(_wire.GOAWAY, 0, 8, 0, b"too many connections"), c.close())))
    with pytest.raises(jwksd.Error) as error:
        jwksd.Client(server.path, timeout=5).health()
    assert error.value.status == "RESOURCE_EXHAUSTED" and "too many connections" in error.value.message
    assert server.accepted == 2


def test_replies_to_other_calls_are_skipped(serve) -> None:
    def other(connection: FakeConnection, call_id: int) -> None:
        connection.send(_wire.RESPONSE, 0, 0, call_id + 1000, b"")
        connection.send(_wire.MESSAGE, 0, 0, call_id, b"junk")
        connection.send(_wire.PONG, 0, 0, 0, b"")
        connection.reply(call_id, jwksd.client.pb.HealthResponse(serving=True, providers=1, ready=1))

    server = serve(after_request(other))
    assert jwksd.Client(server.path, timeout=5).health().serving


def test_undecodable_replies_are_protocol_errors(serve) -> None:
    server = serve(after_request(lambda c, i: c.send(_wire.RESPONSE, 0, 0, i, b"\xff\xff\xff")))
    for call in (lambda client: client.health(), lambda client: client.get_key("t", "k")):
        with pytest.raises(jwksd.ProtocolError):
            call(jwksd.Client(server.path, timeout=5))
    server.close()
    # A GetKey reply whose key is not JSON.
    reply = jwksd.client.pb.GetKeyResponse(jwk_json=b"{not json", kid="k").SerializeToString()
    server = serve(after_request(lambda c, i: c.send(_wire.RESPONSE, 0, 0, i, reply)))
    with pytest.raises(jwksd.Error):
        jwksd.Client(server.path, timeout=5).get_key("t", "k")


def test_socket_paths_that_are_not_sockets(directory: Path) -> None:
    regular = directory / "file"
    regular.write_text("x")
    for path in (str(regular), str(directory), str(directory / "absent.sock"), "/" + "x" * 200):
        with pytest.raises(jwksd.Unavailable) as error:
            jwksd.Client(path, timeout=1).health()
        assert error.value.message.startswith("cannot connect to")


def test_watch_against_garbage_and_silence(serve) -> None:
    server = serve(after_request(lambda c, i: c.raw(b"\xff" * 64)))
    with pytest.raises(jwksd.ProtocolError):
        next(jwksd.Client(server.path, timeout=1).watch())
    server.close()
    # A peer that never answers the Watch's heartbeat PING: the iterator gives up, it does not block for ever.
    server = serve(after_request(lambda c, i: None))
    watch = jwksd.Client(server.path, timeout=0.3).watch(heartbeat=0.3)
    started = time.monotonic()
    with pytest.raises(jwksd.DeadlineExceeded):
        next(watch)
    assert time.monotonic() - started < 2.0


# -- the KeyCache against a scripted peer -------------------------------------------------------------------------


def test_cache_ignores_a_key_set_older_than_the_latest_event(directory: Path) -> None:
    first, second, third = ec_key("a"), ec_key("b"), ec_key("c")
    mini = MiniDaemon(directory, {"t": ["p"]}, {("t", "p"): [first.jwk]})
    cache = jwksd.KeyCache(mini.path, timeout=2)
    try:
        assert cache.wait_ready(5)
        assert cache.get_key("t", "a") == first.jwk
        mini.hold = True
        mini.push("t", "p")  # KEYS_CHANGED: the copy of p is dropped, a GetKeySet sent
        eventually(lambda: len(mini.held) == 1, what="the refetch")
        assert cache.key_set("t", "p") is None
        mini.push("t", "p")  # another change while that fetch is in flight
        eventually(lambda: cache.events == 2, what="the second event")
        assert len(mini.held) == 1, "one fetch in flight per provider"
        mini.release([second.jwk])  # answers the request sent before the second event: outdated, ignored
        eventually(lambda: len(mini.held) == 1, what="the fetch after the outdated reply")
        assert cache.key_set("t", "p") is None, "a reply older than the latest event is not installed"
        mini.release([third.jwk])
        eventually(lambda: cache.key_set("t", "p") is not None, what="the current set")
        assert cache.key_set("t", "p") == {"c": (third.jwk,)}
    finally:
        cache.close()
        mini.close()


def test_cache_remembers_answers_only_once_the_watch_is_subscribed(directory: Path) -> None:
    held, other = ec_key("held"), ec_key("other")
    mini = MiniDaemon(directory, {"t": ["p"]}, {("t", "p"): [held.jwk]})
    mini.answers = {"held": held.jwk, "other": other.jwk}
    mini.hold = True  # no reply on the cache's connection yet: the Watch is not known to be subscribed
    cache = jwksd.KeyCache(mini.path, timeout=2)
    try:
        eventually(lambda: len(mini.held) == 1, what="the GetKeySet")
        for _ in range(2):
            assert cache.get_key("t", "other") == other.jwk
        assert mini.count(_wire.GET_KEY) == 2, "nothing remembered before the subscription is confirmed"
        mini.release([held.jwk])
        eventually(lambda: cache.key_set("t", "p") is not None, what="the copy")
        assert cache.get_key("t", "held") == held.jwk and mini.count(_wire.GET_KEY) == 2  # from the copy
        for _ in range(2):
            assert cache.get_key("t", "other") == other.jwk
        assert mini.count(_wire.GET_KEY) == 3, "an answer the copy does not hold is remembered"
        mini.push("t", "p")  # an event forgets it
        eventually(lambda: cache.events == 1, what="the event")
        assert cache.get_key("t", "other") == other.jwk and mini.count(_wire.GET_KEY) == 4
    finally:
        cache.close()
        mini.close()


def test_an_event_flood_does_not_grow_the_cache(directory: Path) -> None:
    key = ec_key("a")
    mini = MiniDaemon(directory, {"t": ["p"]}, {("t", "p"): [key.jwk]})
    cache = jwksd.KeyCache(mini.path, tenants=["t"], timeout=5)
    try:
        assert cache.wait_ready(5)
        mini.hold = True
        for number in range(20_000):
            mini.push("t", "p")
            if number % 2 == 0:
                mini.push("elsewhere", f"p{number}")  # a tenant the cache does not follow
        eventually(lambda: cache.events >= 20_000, seconds=20, what="the flood to be read")
        assert len(mini.held) == 1 and mini.count(_wire.GET_KEY_SET) == 2, "at most one fetch in flight"
        assert set(cache._views) == {"t"}
        mini.hold = False
        mini.release([key.jwk])  # outdated by the later events: fetched again, and answered
        eventually(lambda: cache.key_set("t", "p") is not None, what="the refill")
    finally:
        cache.close()
        mini.close()


def test_cache_gives_up_a_silent_daemon(directory: Path) -> None:
    key = ec_key("a")
    mini = MiniDaemon(directory, {"t": ["p"]}, {("t", "p"): [key.jwk]})
    cache = jwksd.KeyCache(mini.path, timeout=0.5, poll_interval=0.1)
    try:
        assert cache.wait_ready(5)
        mini.answer_status = False  # the daemon hangs: its polls go unanswered
        eventually(lambda: not cache.ready, seconds=3, what="the copy to be dropped")
        assert cache.key_set("t", "p") is None
        mini.answer_status = True
        eventually(lambda: cache.ready, seconds=5, what="the rebuild")
        assert cache.rebuilds >= 2
    finally:
        cache.close()
        mini.close()


def test_cache_against_garbage_keeps_answering_through_the_socket(serve) -> None:
    server = serve(lambda connection: (connection.raw(b"\x00\x00\x00\x08\x07" + b"\x00" * 7), connection.close()))
    cache = jwksd.KeyCache(server.path, timeout=0.5)
    try:
        assert not cache.wait_ready(0.5)
        with pytest.raises(jwksd.Error):
            cache.get_key("t", "k")
    finally:
        started = time.monotonic()
        cache.close()
        assert time.monotonic() - started < 2.0
