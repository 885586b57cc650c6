"""KeyCache: a local copy of the key sets a process follows, kept consistent by Watch (PROTOCOL.md §3, Watch).

How the copy stays consistent
-----------------------------
A background thread opens one connection and sends, in this order, a Watch naming the followed tenants and
a GetKeySet per provider: the daemon handles a connection's frames in order, so every change after a
snapshot arrives as an event. Then:

- KEYS_CHANGED: the provider's keys are dropped from the copy at once (before the thread reads the next
  frame), and its set is fetched again. A GetKeySet reply is installed only if no event for that provider
  was read after the request was sent (a per-provider generation); otherwise the later request fills it.
- REMOVED, RELOADED (a reload was applied: provider order or access may have changed), or an event for a
  provider the copy does not know: the copy is dropped and rebuilt. Status' ``config_generation`` is also polled
  every ``poll_interval``, for daemons older than the RELOADED event.
- FAILED with no keys left: the provider is dropped. A provider served stale is dropped at its
  ``stale_until`` (from Status), when the daemon stops serving it, and fetched again.
- The Watch ending (daemon stopping, reload revoking access, falling behind), the connection dropping, or
  the daemon not answering a poll within ``timeout``: the whole copy is dropped at once and lookups go to
  the socket until a new connection has rebuilt it (reconnecting with backoff).

A GetKeySet document may hold keys the daemon refuses to serve (``dropped_count``: private, symmetric, weak
keys...). Such a provider is not copied (the client cannot tell which keys the daemon dropped); its lookups
go to the daemon and their answers are remembered until the tenant's next event. Answers are remembered only
while the Watch is known to be subscribed (a reply or an event has come on its connection) and only if no event
for the tenant was read while the lookup was in flight, so a remembered answer is never older than the copy.

Lookups read a dict that is replaced, never changed (one per tenant, swapped atomically), so a hit takes no
lock and makes no call (about 0.3 µs on the 2-vCPU CI machine).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import weakref
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from . import _wire
from ._alg import fitting
from ._wire import Broken, Connection
from .client import Client, _decode
from .errors import DeadlineExceeded, Error, ProtocolError
from .v1 import jwksd_pb2

pb: Any = jwksd_pb2  # protoc's module (no type stubs)

__all__ = ["KeyCache"]

log = logging.getLogger("jwksd")

_MAX_KID_BYTES = 256
_MAX_REMEMBERED = 4096  # answers remembered per tenant for providers that are not copied
_MAX_IN_FLIGHT = 256  # calls the sync connection keeps in flight (the daemon allows 1024)
_WATCH_ID = 1
_KEYS_CHANGED, _FAILED, _REMOVED, _RELOADED = 1, 2, 3, 4


class _Entry:
    """One key: the parsed JWK, the algorithms it fits (GetKey's table) and, on demand, its canonical JSON."""

    __slots__ = ("jwk", "fits", "_ident")

    def __init__(self, jwk: Dict[str, Any]) -> None:
        self.jwk = jwk
        self.fits: FrozenSet[str] = fitting(jwk)
        self._ident: Optional[str] = None

    @property
    def ident(self) -> str:
        """The key's canonical JSON: equal for equal keys (jwksd.pyjwt caches its PyJWK objects by it)."""
        ident = self._ident
        if ident is None:
            ident = self._ident = json.dumps(self.jwk, sort_keys=True, separators=(",", ":"))
        return ident


Index = Dict[str, Tuple[_Entry, ...]]


class _View:
    """One tenant's copy. Replaced, never changed, except ``remembered`` (added to under the cache's lock)."""

    __slots__ = ("order", "providers", "merged", "remembered")

    def __init__(self, order: Tuple[str, ...], providers: Dict[str, Index]) -> None:
        self.order = order
        self.providers = providers
        # provider=None lookups search the providers in config order: answerable only with every one copied.
        merged: Optional[Index] = None
        if all(name in providers for name in order):
            lists: Dict[str, List[_Entry]] = {}
            for name in order:
                for kid, entries in providers[name].items():
                    lists.setdefault(kid, []).extend(entries)
            merged = {kid: tuple(entries) for kid, entries in lists.items()}
        self.merged = merged
        self.remembered: Dict[Tuple[str, str, str], _Entry] = {}


def _index(reply: Any) -> Optional[Index]:
    """The kid index of a GetKeySet reply, or None when it cannot be copied exactly (dropped keys)."""
    if reply.dropped_count:
        return None
    try:
        document = json.loads(reply.jwks_json)
    except ValueError:
        return None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or len(keys) != reply.key_count:
        return None
    lists: Dict[str, List[_Entry]] = {}
    for jwk in keys:
        if not isinstance(jwk, dict):
            return None
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        try:
            if len(kid.encode("utf-8")) > _MAX_KID_BYTES:
                continue  # served in the set, never looked up by kid
        except UnicodeEncodeError:
            continue
        lists.setdefault(kid, []).append(_Entry(jwk))
    return {kid: tuple(entries) for kid, entries in lists.items()}


class _Resync(Exception):
    """The copy no longer matches the registry's shape: drop it and start over at once."""


_caches: "weakref.WeakSet[KeyCache]" = weakref.WeakSet()


def _after_fork() -> None:
    for cache in list(_caches):
        cache._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class KeyCache:
    """A local, Watch-fed copy of the keys of the followed tenants (all readable ones by default).

    :meth:`get_key` has the signature and the answers of :meth:`Client.get_key`: a key held in memory is
    returned without any call; anything else (a kid not in the copy, an ``alg`` no copied key fits, an
    unregistered ``alg``, a provider not copied, a copy being rebuilt) goes to the daemon, so its kid-miss
    rule and its errors apply. Safe to share between threads.

    Args:
        socket_path: the daemon's socket; default ``$JWKSD_SOCKET``, else ``./jwksd.sock``.
        tenants: the tenants to copy; None: every tenant the caller may read.
        timeout: the per-call timeout of lookups that go to the daemon, and how long the background
            connection waits for an answer before it gives the daemon up.
        poll_interval: how often the background connection checks for configuration reloads.
    """

    def __init__(
        self,
        socket_path: Optional[str] = None,
        tenants: Optional[Sequence[str]] = None,
        *,
        timeout: float = 5.0,
        poll_interval: float = 1.0,
    ) -> None:
        if isinstance(tenants, str):
            tenants = [tenants]
        self.client = Client(socket_path, timeout)
        """The :class:`Client` that misses go through (usable for any other call)."""
        self.socket_path = self.client.socket_path
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)
        self._only: Optional[FrozenSet[str]] = frozenset(tenants) if tenants else None
        self._views: Dict[str, _View] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._connection: Optional[Connection] = None
        self._closed = False
        self.rebuilds = 0
        """How many times the copy was built (a rebuild follows each reconnection or reload)."""
        self.events = 0
        """Watch events handled so far (each one is applied to the copy before this count moves)."""
        self._event_hook: Optional[Callable[[Any], None]] = None  # tests: runs on the sync thread after an event
        self._thread: Optional[threading.Thread] = None
        _caches.add(self)
        self._start()

    # -- lookups -----------------------------------------------------------------------------------------------

    def get_key(
        self,
        tenant: str,
        kid: str,
        provider: Optional[str] = None,
        alg: Optional[str] = None,
        *,
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """The key ``kid`` of ``tenant``, as :meth:`Client.get_key` answers it (a fresh dict each call).

        From memory when the copy holds it (no call); otherwise from the daemon (GetKey), whose answer is
        remembered when its provider is not copied."""
        return dict(self._lookup(tenant, kid, provider, alg, timeout).jwk)

    def _lookup(
        self,
        tenant: str,
        kid: str,
        provider: Optional[str] = None,
        alg: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> _Entry:
        """:meth:`get_key`'s entry (shared, not copied; :mod:`jwksd.pyjwt` caches by its ``ident``)."""
        view = self._views.get(tenant)
        if view is not None:
            index = view.providers.get(provider) if provider else view.merged
            if index is not None:
                entries = index.get(kid)
                if entries is not None:
                    if not alg:
                        return entries[0]
                    for entry in entries:
                        if alg in entry.fits:
                            return entry
            remembered = view.remembered.get((provider or "", kid, alg or ""))
            if remembered is not None:
                return remembered
        return self._ask(tenant, kid, provider, alg, timeout)

    def _ask(
        self, tenant: str, kid: str, provider: Optional[str], alg: Optional[str], timeout: Optional[float]
    ) -> _Entry:
        views = self._views
        view = views.get(tenant)  # before the call: an event read after this replaces the view
        entry = _Entry(dict(self.client._get_key(tenant, kid, provider, alg, timeout)[0]))
        if view is not None and len(view.remembered) < _MAX_REMEMBERED:
            with self._lock:
                if self._views is views and views.get(tenant) is view:
                    view.remembered[(provider or "", kid, alg or "")] = entry
        return entry

    def key_set(self, tenant: str, provider: str) -> Optional[Dict[str, Tuple[Dict[str, Any], ...]]]:
        """The copy of one provider (kid -> its keys in document order), or None when it is not held."""
        view = self._views.get(tenant)
        index = view.providers.get(provider) if view is not None else None
        if index is None:
            return None
        return {kid: tuple(dict(entry.jwk) for entry in entries) for kid, entries in index.items()}

    # -- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True while the copy is built (every followed provider answered once on the current connection)."""
        return self._ready.is_set()

    def wait_ready(self, timeout: Optional[float] = None) -> bool:
        """Waits until the copy is built; False when ``timeout`` passed first."""
        return self._ready.wait(timeout)

    def close(self) -> None:
        """Stops the background thread, drops the copy and closes the connections."""
        with self._lock:
            self._closed = True
            self._stop.set()
            connection = self._connection
        if connection is not None:
            connection.shutdown()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + 1)
        self._drop()
        self.client.close()

    def __enter__(self) -> "KeyCache":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"jwksd.KeyCache({self.socket_path!r}, tenants={sorted(self._only) if self._only else None})"

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="jwksd-keycache", daemon=True)
        self._thread.start()

    def _after_fork_in_child(self) -> None:
        # The parent's thread does not exist here and its connection is the parent's: start over.
        self._lock = threading.Lock()
        self._views = {}
        self._ready = threading.Event()
        self._connection = None
        if not self._closed:
            self._start()

    def _drop(self) -> None:
        with self._lock:
            self._views = {}
        self._ready.clear()

    # -- the background connection -----------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            built = False
            try:
                built = _Session(self).run()
                delay = 0.0
            except _Resync as resync:
                log.debug("jwksd KeyCache: rebuilding the copy: %s", resync)
                built, delay = True, 0.02
            except (Error, Broken, OSError, ValueError) as error:
                log.debug("jwksd KeyCache: connection ended: %s", error)
                delay = backoff
            except Exception:  # a bug: keep the process' lookups correct (through the socket) and retry
                log.exception("jwksd KeyCache: unexpected error in the background thread")
                delay = backoff
            finally:
                self._drop()
            if built:
                backoff = 0.05
            else:
                backoff = min(backoff * 2, 5.0)
            if delay:
                self._stop.wait(delay * random.uniform(0.5, 1.0))


class _Session:
    """One connection's life: builds the copy and keeps it consistent until the connection ends."""

    def __init__(self, cache: KeyCache) -> None:
        self.cache = cache
        self.order: Dict[str, Tuple[str, ...]] = {}
        self.held: Dict[str, Dict[str, Index]] = {}  # tenant -> provider -> index
        self.generation: Dict[Tuple[str, str], int] = {}
        self.fetching: Dict[Tuple[str, str], int] = {}  # provider -> generation of its GetKeySet in flight
        self.to_fetch: Dict[Tuple[str, str], None] = {}  # ordered set of providers waiting for a slot
        self.pending: Dict[int, Tuple[Any, ...]] = {}
        self.unanswered: Set[Tuple[str, str]] = set()  # first fetches not answered yet
        self.timers: Dict[Tuple[str, str], float] = {}  # provider -> wall-clock time to drop it (stale_until)
        self.status_asked: Set[str] = set()
        self.config_generation: Optional[int] = None
        self.poll_sent: Optional[float] = None
        self.next_poll = 0.0
        self.next_id = 2
        self.connection: Optional[Connection] = None
        self.poll_tenant = ""
        self.poll_payload = b""
        self.subscribed = False

    # -- plumbing ----------------------------------------------------------------------------------------------

    def send(self, method: int, payload: bytes, what: Tuple[Any, ...]) -> None:
        call_id = self.next_id
        self.next_id = call_id + 1 if call_id < 0x7FFFFFFF else 2
        self.pending[call_id] = what
        assert self.connection is not None
        self.connection.send(_wire.frame(_wire.REQUEST, _wire.ACCEPT_COMPRESSED, method, call_id, payload))

    def call(self, method: int, payload: bytes) -> Tuple[int, bytes]:
        """A call answered before anything else is done (only before the Watch is subscribed)."""
        assert self.connection is not None
        return self.connection.call(method, payload, self.cache.timeout)

    def publish(self, tenant: str) -> None:
        cache = self.cache
        view = _View(self.order[tenant], dict(self.held.get(tenant, {})))
        with cache._lock:
            if not cache._stop.is_set():
                cache._views[tenant] = view

    # -- the session -------------------------------------------------------------------------------------------

    def run(self) -> bool:
        """Returns (or raises) when the connection ends; True if the copy was built on it."""
        cache = self.cache
        connection = Connection(cache.socket_path, cache.timeout)
        with cache._lock:
            if cache._stop.is_set():
                connection.close()
                return False
            cache._connection = connection
        self.connection = connection
        try:
            return self._run()
        finally:
            with cache._lock:
                cache._connection = None
            connection.shutdown()
            connection.close()

    def _run(self) -> bool:
        cache = self.cache
        connection = self.connection
        assert connection is not None
        # The configuration generation first, then the tenants we follow: a reload after the generation was
        # read is seen by the poll. The poll asks Status of one tenant (a small reply): the first followed one.
        listed = self._tenants(*self.call(_wire.LIST_TENANTS, b""))
        only = cache._only
        self.poll_tenant = next((t for t in listed if only is None or t in only), next(iter(listed), ""))
        poll = pb.StatusRequest(tenant=self.poll_tenant).SerializeToString()
        self.poll_payload = poll
        self.config_generation = self._generation(*self.call(_wire.STATUS, poll))
        self.order = {
            tenant: providers
            for tenant, providers in self._tenants(*self.call(_wire.LIST_TENANTS, b"")).items()
            if only is None or tenant in only
        }
        if self.order:
            # The Watch names its tenants, so a reload revoking one ends it (PERMISSION_DENIED) at once.
            watch = pb.WatchRequest(tenants=list(self.order)).SerializeToString()
            connection.send(_wire.frame(_wire.REQUEST, 0, _wire.WATCH, _WATCH_ID, watch))
            for tenant, providers in self.order.items():
                for provider in providers:
                    self.unanswered.add((tenant, provider))
                    self.fetch((tenant, provider))
        built = False
        if not self.unanswered:
            cache.rebuilds += 1
            cache._ready.set()
            built = True
        self.next_poll = time.monotonic() + cache.poll_interval
        while not cache._stop.is_set():
            now = time.monotonic()
            deadline = self.next_poll
            if self.poll_sent is not None:
                deadline = self.poll_sent + cache.timeout
            if self.timers:
                deadline = min(deadline, now + max(0.0, min(self.timers.values()) - time.time()))
            try:
                kind, flags, code, call_id, body = connection.read_frame(max(deadline, now + 0.001))
            except DeadlineExceeded:
                self.tick()
                continue
            if kind == _wire.MESSAGE and call_id == _WATCH_ID:
                if flags & _wire.COMPRESSED:
                    body = _wire.inflate(body)
                self.event(_decode(pb.WatchEvent, body))
            elif kind == _wire.RESPONSE:
                if call_id == _WATCH_ID:
                    raise Error(code or 14, "the Watch ended: " + body.decode("utf-8", "replace"))
                what = self.pending.pop(call_id, None)
                if what is None:
                    continue
                if flags & _wire.COMPRESSED:
                    body = _wire.inflate(body)
                self.reply(what, code, body)
                if not built and not self.unanswered:
                    cache.rebuilds += 1
                    cache._ready.set()
                    built = True
            elif kind == _wire.PING:
                connection.send(_wire.frame(_wire.PONG, 0, 0, call_id, body))
            elif kind == _wire.GOAWAY:
                raise Broken("GOAWAY: " + body.decode("utf-8", "replace"), goaway=code)
            elif kind in (_wire.REQUEST, _wire.CANCEL):
                raise ProtocolError(14, f"the peer sent a client's frame (kind {kind})")
            self.tick()
        return built

    @staticmethod
    def _tenants(code: int, body: bytes) -> Dict[str, Tuple[str, ...]]:
        if code:
            raise Error(code, body.decode("utf-8", "replace"))
        return {tenant.id: tuple(tenant.providers) for tenant in _decode(pb.ListTenantsResponse, body).tenants}

    def _followed(self, body: bytes) -> Dict[str, Tuple[str, ...]]:
        only = self.cache._only
        listed = self._tenants(0, body)
        return {tenant: providers for tenant, providers in listed.items() if only is None or tenant in only}

    @staticmethod
    def _generation(code: int, body: bytes) -> int:
        if code:
            raise Error(code, body.decode("utf-8", "replace"))
        generation: int = _decode(pb.StatusResponse, body).config_generation
        return generation

    # -- what arrives ------------------------------------------------------------------------------------------

    def event(self, event: Any) -> None:
        self.confirm_subscribed()
        if event.kind == _RELOADED:
            # A reload was applied: provider order or access may have changed with no provider's event.
            self.cache._drop()
            self.cache.events += 1
            raise _Resync(f"the registry was reloaded (generation {event.config_generation})")
        tenant, provider = event.tenant, event.provider
        providers = self.order.get(tenant)
        if providers is None:
            return  # not followed (cannot happen with a named Watch)
        if provider not in providers or event.kind == _REMOVED:
            self.cache._drop()  # now, before the next lookup; the copy is rebuilt on a new connection
            self.cache.events += 1
            raise _Resync(f"{tenant}/{provider} was added or removed: the registry was reloaded")
        key = (tenant, provider)
        if event.kind == _KEYS_CHANGED or (event.kind == _FAILED and event.key_count == 0):
            self.forget(key)
            self.fetch(key)
        elif event.kind == _FAILED:
            self.ask_status(tenant)  # keys served on (stale): learn until when
        self.cache.events += 1
        hook = self.cache._event_hook
        if hook is not None:
            hook(event)

    def forget(self, key: Tuple[str, str]) -> None:
        """Drops a provider's keys now (the next lookup cannot see them) and outdates its fetch in flight."""
        tenant, provider = key
        self.generation[key] = self.generation.get(key, 0) + 1
        self.timers.pop(key, None)
        self.held.get(tenant, {}).pop(provider, None)
        self.publish(tenant)  # a new view: also forgets the answers remembered for the tenant

    def fetch(self, key: Tuple[str, str]) -> None:
        if key in self.fetching:
            return  # its reply is outdated by the generation; the reply handler fetches again
        if len(self.pending) >= _MAX_IN_FLIGHT:
            self.to_fetch[key] = None
            return
        self.to_fetch.pop(key, None)
        self.fetching[key] = self.generation.get(key, 0)
        payload = pb.GetKeySetRequest(tenant=key[0], provider=key[1]).SerializeToString()
        self.send(_wire.GET_KEY_SET, payload, ("set", key))

    def ask_status(self, tenant: str) -> None:
        if tenant not in self.status_asked:
            self.status_asked.add(tenant)
            self.send(_wire.STATUS, pb.StatusRequest(tenant=tenant).SerializeToString(), ("status", tenant))

    def confirm_subscribed(self) -> None:
        """Called for every reply and event: the first one proves the Watch is subscribed (the daemon handles a
        connection's frames in order, and every request was sent after the Watch). Only from then may lookups
        remember the daemon's answers (one given before could be outdated by a change no event reports): the
        views, empty until the sets arrive, are what lets them."""
        if not self.subscribed:
            self.subscribed = True
            for tenant in self.order:
                self.publish(tenant)

    def reply(self, what: Tuple[Any, ...], code: int, body: bytes) -> None:
        self.confirm_subscribed()
        if what[0] == "set":
            key = what[1]
            asked_at = self.fetching.pop(key)
            self.unanswered.discard(key)
            if asked_at != self.generation.get(key, 0):
                self.fetch(key)  # an event came after the request: this reply may predate it
            elif code == 0:
                reply = _decode(pb.GetKeySetResponse, body)
                index = _index(reply)
                if index is not None:
                    tenant, provider = key
                    self.held.setdefault(tenant, {})[provider] = index
                    self.publish(tenant)
                if reply.stale:
                    self.ask_status(key[0])
            # Not OK (UNAVAILABLE: no servable keys yet): not held; its first load sends KEYS_CHANGED.
            while self.to_fetch and len(self.pending) < _MAX_IN_FLIGHT:
                self.fetch(next(iter(self.to_fetch)))
        elif what[0] == "status":
            tenant = what[1]
            self.status_asked.discard(tenant)
            if code:
                raise _Resync(f"Status of {tenant}: {body.decode('utf-8', 'replace')}")
            for status in _decode(pb.StatusResponse, body).providers:
                key = (status.tenant, status.provider)
                if status.stale_until and status.provider in self.held.get(status.tenant, {}):
                    # Past stale_until the daemon stops serving the set, and no event says so. Dropped a second
                    # early (stale_until is whole seconds), then fetched again: if the provider recovered
                    # meanwhile (a 304 sends no event either), the fetch brings it back.
                    self.timers[key] = status.stale_until - 1
        elif what[0] == "poll":
            self.poll_sent = None
            generation = self._generation(code, body)
            if generation != self.config_generation:
                self.send(_wire.LIST_TENANTS, b"", ("tenants", generation))
        elif what[0] == "tenants":
            if code:
                raise _Resync("ListTenants failed")
            if self._followed(body) != self.order:
                raise _Resync("the registry was reloaded")
            self.config_generation = what[1]

    def tick(self) -> None:
        """Time-driven work: the reload poll (and its answer's deadline) and the stale drops."""
        now = time.monotonic()
        if self.poll_sent is not None and now - self.poll_sent > self.cache.timeout:
            raise DeadlineExceeded(4, "the daemon did not answer the KeyCache's poll in time")
        if self.poll_sent is None and now >= self.next_poll:
            self.poll_sent = now
            self.next_poll = now + self.cache.poll_interval
            self.send(_wire.STATUS, self.poll_payload, ("poll",))
        if self.timers:
            wall = time.time()
            for key, due in list(self.timers.items()):
                if due <= wall:
                    self.forget(key)
                    self.fetch(key)
