"""jwksd.KeyCache against a live daemon: hits make no call, rotations and restarts never leave a stale answer,
the alg narrowing is the daemon's, and 8 threads with rotations every 0.5 s only ever see correct keys."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from conftest import Key, ec_key, ed25519_key, eventually, rsa_key, write_jwks, x25519_jwk

import jwksd
from jwksd._alg import REGISTERED

ONE_PROVIDER = """\
version: 1
server: { socket: ./jwksd.sock }
defaults: { min_ttl: 1h, default_ttl: 1h, kid_miss_cooldown: 1s }
tenants:
  t:
    providers:
      p: { file: ./p.json }
"""


class CallCounter:
    """Counts the calls a KeyCache's lookups send: every unary call of its Client goes through _call_frame."""

    def __init__(self, cache: jwksd.KeyCache) -> None:
        self.count = 0
        original = cache.client._call_frame

        def counted(*args: Any, **kwargs: Any) -> bytes:
            self.count += 1
            return original(*args, **kwargs)

        cache.client._call_frame = counted  # type: ignore[method-assign]


def test_hits_make_no_call_and_rotation_is_seen_within_one_event(daemon_factory) -> None:
    old, new = ec_key("a"), ec_key("b")
    daemon = daemon_factory(ONE_PROVIDER, files={"p.json": [old.jwk]})
    with jwksd.KeyCache(daemon.socket, tenants=["t"]) as cache:
        assert cache.wait_ready(5) and cache.rebuilds == 1
        calls = CallCounter(cache)
        for _ in range(1000):
            assert cache.get_key("t", "a") == old.jwk
            assert cache.get_key("t", "a", provider="p", alg="ES256") == old.jwk
        assert calls.count == 0, "a hit must not call the daemon"
        # The answer is a copy: changing it does not change the cache.
        cache.get_key("t", "a")["kid"] = "mutated"
        assert cache.get_key("t", "a") == old.jwk

        # Proof by a frozen daemon: hits still answer, at once.
        daemon.signal(signal.SIGSTOP)
        try:
            started = time.perf_counter()
            for _ in range(1000):
                assert cache.get_key("t", "a") == old.jwk
            assert time.perf_counter() - started < 0.5
        finally:
            daemon.signal(signal.SIGCONT)

        # Rotation: a replaced by b. Once the KEYS_CHANGED event is read, a is never answered again: a lookup
        # made on the sync thread right after it handled the event (before the refill could arrive) already
        # goes to the daemon, which says NOT_FOUND.
        seen: List[Any] = []
        cache._event_hook = lambda event: seen.append(
            (event.kind, _outcome(lambda: cache.get_key("t", "a")), cache.key_set("t", "p"))
        )
        write_jwks(daemon.directory / "p.json", [new.jwk])
        daemon.refresh("t")
        eventually(lambda: seen, what="the rotation event")
        cache._event_hook = None
        assert seen == [(1, jwksd.NotFound, None)]  # 1: KEYS_CHANGED
        with pytest.raises(jwksd.NotFound):
            cache.get_key("t", "a")
        assert cache.get_key("t", "b") == new.jwk
        eventually(lambda: cache.key_set("t", "p") == {"b": (new.jwk,)}, what="the refill")
        calls.count = 0
        assert cache.get_key("t", "b") == new.jwk and calls.count == 0

        # The same kid with new material: the new key, from the first lookup after the event.
        replacement = ec_key("b")
        events = cache.events
        write_jwks(daemon.directory / "p.json", [replacement.jwk])
        daemon.refresh("t")
        eventually(lambda: cache.events > events, what="the second rotation event")
        assert cache.get_key("t", "b") == replacement.jwk


def test_daemon_restart_drops_the_copy(daemon_factory) -> None:
    old, new = ec_key("old"), ec_key("new")
    daemon = daemon_factory(ONE_PROVIDER, files={"p.json": [old.jwk]})
    cache = jwksd.KeyCache(daemon.socket, tenants=["t"])
    try:
        assert cache.wait_ready(5)
        assert cache.get_key("t", "old") == old.jwk
        daemon.stop()
        # The Watch ends (UNAVAILABLE, then the connection closes): the copy is dropped at once.
        eventually(lambda: not cache.ready, what="the copy to be dropped")
        assert cache.key_set("t", "p") is None
        with pytest.raises(jwksd.Unavailable):
            cache.get_key("t", "old")  # through the socket, where no daemon listens: never from memory
        write_jwks(daemon.directory / "p.json", [new.jwk])
        daemon.start()
        # Straight away, before the copy is rebuilt: the old key is gone, the new one answered.
        with pytest.raises(jwksd.NotFound):
            cache.get_key("t", "old")
        assert cache.get_key("t", "new") == new.jwk
        assert cache.wait_ready(5) and cache.rebuilds == 2
        assert cache.key_set("t", "p") == {"new": (new.jwk,)}
        calls = CallCounter(cache)
        assert cache.get_key("t", "new") == new.jwk and calls.count == 0
        with pytest.raises(jwksd.NotFound):
            cache.get_key("t", "old")
    finally:
        cache.close()


def test_alg_narrowing_and_provider_order_match_the_daemon(daemon_factory) -> None:
    keys = [
        rsa_key("rsa-noalg", alg=None, use=None).jwk,
        rsa_key("rsa-rs384", alg="RS384").jwk,
        rsa_key("rsa-enc", alg=None, use="enc").jwk,
        rsa_key("rsa-oaep", alg="RSA-OAEP-256", use="enc").jwk,
        ec_key("p256-noalg", alg=None).jwk,
        ec_key("p384-noalg", "P-384", alg=None).jwk,
        ec_key("p521-noalg", "P-521", alg=None).jwk,
        ec_key("p256-ecdh", alg="ECDH-ES+A128KW", use="enc").jwk,
        ed25519_key("ed-noalg", alg=None).jwk,
        ed25519_key("ed-eddsa").jwk,
        ed25519_key("ed-ed25519", alg="Ed25519").jwk,
        x25519_jwk("x25519"),
        ec_key("dup", alg=None).jwk,  # duplicate kids: the first that fits, in document order
        rsa_key("dup", alg=None).jwk,
        ed25519_key("dup", alg=None).jwk,
        ec_key("k" * 257).jwk,  # served in the set, never looked up by kid
    ]
    second = [ec_key("dup", "P-384", alg=None).jwk, ec_key("only-q", alg=None).jwk, rsa_key("rsa-noalg").jwk]
    daemon = daemon_factory(
        ONE_PROVIDER.replace("      p: { file: ./p.json }", "      p: { file: ./p.json }\n      q: { file: ./q.json }"),
        files={"p.json": keys, "q.json": second},
    )
    client = daemon.client()
    with jwksd.KeyCache(daemon.socket) as cache:
        assert cache.wait_ready(5)
        assert cache.key_set("t", "p") is not None and cache.key_set("t", "q") is not None, "both copied"
        calls = CallCounter(cache)
        kids = sorted({key["kid"] for key in keys + second}) + ["absent"]
        algs: List[Optional[str]] = [None] + sorted(REGISTERED) + ["HS256", "ES256K", "none"]
        from_memory = 0
        for provider in ("p", "q", None):
            for kid in kids:
                for alg in algs:
                    expected = _outcome(lambda: client.get_key("t", kid, provider=provider, alg=alg))
                    before = calls.count
                    got = _outcome(lambda: cache.get_key("t", kid, provider=provider, alg=alg))
                    assert got == expected, (provider, kid, alg)
                    if calls.count == before:
                        from_memory += 1
                        assert isinstance(got, dict), "only keys are answered from memory"
                    elif isinstance(expected, dict) and alg in (None, *REGISTERED) and len(kid) <= 256:
                        raise AssertionError(f"{provider}/{kid}/{alg}: a held key went to the daemon")
        assert from_memory > 100
    client.close()


def _outcome(call: Any) -> Any:
    try:
        return call()
    except jwksd.Error as error:
        return type(error)


def test_provider_with_dropped_keys_is_not_copied(daemon_factory) -> None:
    good = ec_key("good")
    daemon = daemon_factory(
        ONE_PROVIDER,
        files={"p.json": [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}, rsa_key("weak", bits=1024).jwk, good.jwk]},
    )
    with jwksd.KeyCache(daemon.socket, tenants=["t"]) as cache:
        assert cache.wait_ready(5)
        assert cache.key_set("t", "p") is None, "the document holds keys the daemon does not serve"
        calls = CallCounter(cache)
        for kid in ("sym", "weak"):
            with pytest.raises(jwksd.NotFound):
                cache.get_key("t", kid)
        assert cache.get_key("t", "good") == good.jwk
        count = calls.count
        assert cache.get_key("t", "good") == good.jwk and calls.count == count, "the answer is remembered"
        # An event forgets what was remembered.
        other = ec_key("good")
        events = cache.events
        write_jwks(daemon.directory / "p.json", [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}, other.jwk])
        daemon.refresh("t")
        eventually(lambda: cache.events > events, what="the rotation event")
        assert cache.get_key("t", "good") == other.jwk


_P = "      p: { file: ./p.json }\n"
_Q = "      q: { file: ./q.json }\n"
TWO = ONE_PROVIDER.replace(_P, _P + _Q)
SWAPPED = ONE_PROVIDER.replace(_P, _Q + _P)  # TWO with its providers in the other order


def two_providers(daemon_factory: Callable[..., Any]) -> Tuple[Any, Key, Key]:
    """A daemon whose tenant t has providers p and q (config ``TWO``), each serving a key with kid "k"."""
    first, second = ec_key("k"), ec_key("k")
    return daemon_factory(TWO, files={"p.json": [first.jwk], "q.json": [second.jwk]}), first, second


def test_reloads_rebuild_the_copy(daemon_factory) -> None:
    daemon, first, second = two_providers(daemon_factory)
    client = daemon.client()
    with jwksd.KeyCache(daemon.socket, poll_interval=0.1) as cache:
        assert cache.wait_ready(5)
        assert cache.get_key("t", "k") == first.jwk  # provider None: p first
        # A reload that only reorders sends no event: the generation poll sees it.
        daemon.config.write_text(SWAPPED)
        assert client.reload().ok
        assert client.get_key("t", "k") == second.jwk
        eventually(lambda: cache.rebuilds >= 2 and cache.ready, what="the rebuild after the reorder")
        assert cache.get_key("t", "k") == second.jwk
        # A provider removed: REMOVED, the copy rebuilt without it.
        daemon.config.write_text(ONE_PROVIDER)
        assert client.reload().ok
        eventually(lambda: cache.rebuilds >= 3 and cache.ready, what="the rebuild after the removal")
        assert cache.key_set("t", "q") is None and cache.get_key("t", "k") == first.jwk
        # A tenant added: followed after the rebuild (the cache follows every readable tenant).
        daemon.config.write_text(ONE_PROVIDER + "  u:\n    providers:\n      r: { file: ./q.json }\n")
        assert client.reload().ok
        eventually(lambda: cache.key_set("u", "r") is not None, what="the new tenant's copy")
        assert cache.get_key("u", "k") == second.jwk
    client.close()


def test_reload_event_rebuilds_the_copy_without_polling(daemon_factory) -> None:
    daemon, first, second = two_providers(daemon_factory)
    client = daemon.client()
    # No poll within the test: only the Watch's RELOADED event can tell the cache about the reorder.
    with jwksd.KeyCache(daemon.socket, poll_interval=3600) as cache:
        assert cache.wait_ready(5)
        assert cache.get_key("t", "k") == first.jwk
        daemon.config.write_text(SWAPPED)
        assert client.reload().ok
        eventually(lambda: cache.rebuilds >= 2 and cache.ready, what="the rebuild after RELOADED")
        assert cache.get_key("t", "k") == second.jwk
    client.close()


def test_stale_provider_is_dropped_when_the_daemon_stops_serving_it(daemon_factory) -> None:
    key = ec_key("k")
    daemon = daemon_factory(
        "version: 1\nserver: { socket: ./jwksd.sock }\n"
        # Retries 1 s, 2 s, 4 s... after the failure: no FAILED event near the moment the daemon stops serving.
        "defaults: { min_ttl: 1s, default_ttl: 1s, stale_while_error: 2s,"
        " retry: { initial_backoff: 1s, max_backoff: 10s, jitter: none } }\n"
        "tenants:\n  t:\n    providers:\n      p: { file: ./p.json }\n",
        files={"p.json": [key.jwk]},
    )
    client = daemon.client()
    with jwksd.KeyCache(daemon.socket, tenants=["t"]) as cache:
        assert cache.wait_ready(5)
        os.remove(daemon.directory / "p.json")  # refreshes fail from now on: served stale, then not at all
        deadline = time.monotonic() + 10
        daemon_refused = False
        while time.monotonic() < deadline:
            try:
                cache_answer = cache.get_key("t", "k")
            except jwksd.Unavailable:
                cache_answer = None
            try:
                client.get_key("t", "k")
            except jwksd.Unavailable:
                daemon_refused = True
                # From the moment the daemon refuses, the cache must too (it dropped the copy in time).
                with pytest.raises(jwksd.Unavailable):
                    cache.get_key("t", "k")
                break
            assert cache_answer in (None, key.jwk)
            time.sleep(0.02)
        assert daemon_refused, "the daemon kept serving past stale_while_error"
    client.close()


def test_threads_share_a_client_and_a_cache_during_rotations(daemon_factory) -> None:
    """8 threads, one Client and one KeyCache, 10 s, a rotation every 0.5 s.

    Rotation r publishes kid "stable" with new material S[r], and kids "roll-r" and "roll-(r-1)" (each kid
    "roll-k" has one material R[k] for ever; "roll-(r-2)" leaves). The rotator waits for the daemon (Refresh)
    and for the cache (its Watch event) before the next rotation. So, for a lookup that starts at ts and ends
    at te, with W(t) the last rotation begun (its file written) at t:
      - "stable" is answered, with S[j] for W(ts) - 1 <= j <= W(te): the current or the just-previous key;
      - "roll-k" is answered with R[k] or is NotFound; it must be answered when rotation k was applied
        (daemon and cache) before ts and rotation k + 2 had not begun at te;
      - no other exception, never another kid's key.
    """
    duration = float(os.environ.get("JWKSD_TEST_THREAD_SECONDS", "10"))
    stable = [ec_key("stable", alg=None)]  # no alg: ES256 and ECDH-ES both fit
    rolls = [ec_key("roll-0", alg=None)]
    daemon = daemon_factory(ONE_PROVIDER, files={"p.json": [stable[0].jwk, rolls[0].jwk]})
    client = daemon.client()
    cache = jwksd.KeyCache(daemon.socket, tenants=["t"])
    assert cache.wait_ready(5)
    material = {("stable", stable[0].jwk["x"]): 0, ("roll-0", rolls[0].jwk["x"]): 0}
    begun = [0.0]  # begun[r]: when rotation r's file was written
    applied = [0.0]  # applied[r]: when daemon and cache both had rotation r
    stop = threading.Event()
    failures: List[str] = []
    counts: Dict[str, int] = {"answers": 0, "not_found": 0}
    lock = threading.Lock()

    def rotation_begun_by(moment: float) -> int:
        return max(r for r, at in enumerate(begun) if at <= moment)

    def rotator() -> None:
        try:
            rotate()
        except Exception as error:  # noqa: BLE001
            with lock:
                failures.append(f"rotator: {error!r}")

    def rotate() -> None:
        r = 0
        while not stop.is_set():
            time.sleep(0.5)
            r += 1
            s, roll = ec_key("stable", alg=None), ec_key(f"roll-{r}", alg=None)
            stable.append(s)
            rolls.append(roll)
            material[("stable", s.jwk["x"])] = r
            material[(f"roll-{r}", roll.jwk["x"])] = r
            events = cache.events
            begun.append(time.monotonic())
            write_jwks(daemon.directory / "p.json", [s.jwk, rolls[r - 1].jwk, roll.jwk])
            with jwksd.Client(daemon.socket) as admin:
                admin.refresh("t")
            eventually(lambda: cache.events > events, seconds=2, what="the cache to apply the rotation")
            applied.append(time.monotonic())

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            source = cache if rng.random() < 0.7 else client
            r = len(begun) - 1
            kid = "stable" if rng.random() < 0.4 else f"roll-{max(0, r - rng.randrange(4))}"
            alg = rng.choice([None, "ES256", "ECDH-ES"])
            provider = rng.choice([None, "p"])
            started = time.monotonic()
            try:
                answer: Optional[Dict[str, Any]] = source.get_key("t", kid, provider=provider, alg=alg)
            except jwksd.NotFound:
                answer = None
            except Exception as error:  # noqa: BLE001
                with lock:
                    failures.append(f"{kid}: {error!r}")
                continue
            ended = time.monotonic()
            problem = _check(kid, answer, started, ended)
            with lock:
                counts["answers" if answer is not None else "not_found"] += 1
                if problem:
                    failures.append(problem)

    def _check(kid: str, answer: Optional[Dict[str, Any]], started: float, ended: float) -> Optional[str]:
        low, high = rotation_begun_by(started), rotation_begun_by(ended)
        if answer is None:
            if kid == "stable":
                return "stable: NotFound"
            k = int(kid.split("-")[1])
            applied_before = k < len(applied) and applied[k] <= started
            if applied_before and high < k + 2:
                return f"{kid}: NotFound while it was served (rotations {low}..{high})"
            return None
        if answer.get("kid") != kid:
            return f"{kid}: answered with kid {answer.get('kid')}"
        generation = material.get((kid, answer["x"]))
        if generation is None:
            return f"{kid}: a key never published for it"
        if kid == "stable" and not (low - 1 <= generation <= high):
            return f"stable: material of rotation {generation} during rotations {low}..{high}"
        return None

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    rotating = threading.Thread(target=rotator)
    rotating.start()
    for thread in threads:
        thread.start()
    time.sleep(duration)
    stop.set()
    rotating.join(10)
    for thread in threads:
        thread.join(10)
    cache.close()
    client.close()
    assert not failures, f"{len(failures)} wrong answers, e.g. {failures[:5]}"
    assert len(begun) >= duration / 0.6, "rotations happened"
    assert counts["answers"] > 1000, counts
