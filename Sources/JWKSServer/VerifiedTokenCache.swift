import JWKSCache
import JWKSConfig
import JWKSWire
import NIOConcurrencyHelpers
import NIOCore

/// Tokens VerifyJWT has verified, shared by every connection: a repeated token (a service sees the same
/// bearer token on every request of a session) is answered with one lookup instead of a signature check.
///
/// Keyed by the request's bytes (tenant, provider, token, audiences, timeout), so a hit needs no decoding
/// (hashed once per call, see ``Key``);
/// holds successes only. A remembered answer is served only while
/// - the registry is the one it was computed from (a reload can change the `verify:` rules or the peer ACL),
/// - the provider's snapshot is the one it was verified with (compared by publication numbers: a refreshed set
///   drops every answer of that provider, so a token stops verifying as soon as its key is gone),
/// - the provider is still fresh (a stale provider's answers say `stale: true`; they are verified each time),
/// - the token's `exp` has not come (never past it, leeway or not), and
/// - the peer may read the tenant.
///
/// Bounded in entries and bytes (``ServerSettings/verifyCacheEntries``, ``ServerSettings/verifyCacheBytes``);
/// the oldest answers go first.
final class VerifiedTokenCache: Sendable {
    /// A request's bytes with their hash, computed once per call: the lookup, the store after a verification
    /// and the eviction of the entry reuse it instead of hashing a token-sized buffer each time.
    struct Key: Hashable, Sendable {
        /// The request's bytes.
        let bytes: ByteBuffer
        private let hash: Int

        /// The key of a request (its bytes are not copied: ``detached()`` copies them for storing).
        init(_ request: ByteBuffer) {
            bytes = request
            var hasher = Hasher()
            request.withUnsafeReadableBytes { hasher.combine(bytes: $0) }
            hash = hasher.finalize()
        }

        private init(bytes: ByteBuffer, hash: Int) {
            self.bytes = bytes
            self.hash = hash
        }

        /// The same key over a copy of the bytes, so a stored key does not hold the connection's read buffer.
        func detached() -> Key {
            var copy = ByteBuffer()
            copy.writeImmutableBuffer(bytes)
            return Key(bytes: copy, hash: hash)
        }

        func hash(into hasher: inout Hasher) { hasher.combine(hash) }

        static func == (lhs: Key, rhs: Key) -> Bool { lhs.hash == rhs.hash && lhs.bytes == rhs.bytes }
    }

    /// A remembered answer: a class, so a hit costs one retain.
    final class Entry: Sendable {
        /// The OK reply.
        let reply: Reply
        /// The tenant's settings the answer was computed under (for the peer ACL).
        let tenant: TenantConfig
        /// The provider that verified the token.
        let provider: ProviderEntry
        /// Its publication number when its snapshot was read.
        let publication: UInt64
        /// The registry's publication number, read before the registry the answer was computed from.
        let registry: UInt64
        /// The instant at which the provider stops being fresh.
        let freshUntil: EngineInstant
        /// The token's `exp` (Unix seconds); nil when it has none.
        let expiration: Double?
        /// The provider's verification counters (a hit counts as a verification).
        let counters: VerificationMetrics.ProviderCounters

        init(
            reply: Reply, tenant: TenantConfig, provider: ProviderEntry, publication: UInt64, registry: UInt64,
            freshUntil: EngineInstant, expiration: Double?, counters: VerificationMetrics.ProviderCounters
        ) {
            self.reply = reply
            self.tenant = tenant
            self.provider = provider
            self.publication = publication
            self.registry = registry
            self.freshUntil = freshUntil
            self.expiration = expiration
            self.counters = counters
        }

        /// Whether the answer still holds (for any peer).
        func holds(registry: UInt64, now: EngineInstant, unixTime: Double) -> Bool {
            registry == self.registry && now < freshUntil && unixTime < (expiration ?? .infinity)
                && provider.publication == publication
        }
    }

    /// Bytes charged for an entry besides its request and reply: the dictionary slot, the entry object, the
    /// queue slot and the copied key's storage, with the allocator's rounding (measured: about 950 bytes per
    /// small entry beyond its request and reply).
    static let entryOverhead = 1_024

    private let state: NIOLockedValueBox<BoundedStore>

    /// A cache of at most `entries` answers and `bytes` bytes; nil when either is 0 (the cache is off).
    init?(entries: Int, bytes: Int) {
        guard entries > 0, bytes > 0 else { return nil }
        state = NIOLockedValueBox(BoundedStore(maximumEntries: entries, maximumBytes: bytes))
    }

    /// The remembered answer to `request` when it still holds and `peer` may read its tenant; an answer that no
    /// longer holds is dropped (one the peer may not read stays: the peer is answered as without a cache).
    func lookup(
        _ request: Key, registry: UInt64, now: EngineInstant, unixTime: Double, peer: PeerCredentials?
    ) -> Entry? {
        let entry = state.withLockedValue { store -> Entry? in
            guard store.adopt(registry: registry), let entry = store.value(for: request) else { return nil }
            guard entry.holds(registry: registry, now: now, unixTime: unixTime) else {
                store.remove(request)
                return nil
            }
            return entry
        }
        guard let entry, RequestDispatcher.mayRead(entry.tenant, peer: peer) else { return nil }
        return entry
    }

    /// Remembers an answer; the request's bytes are copied (the read buffer is not retained).
    func store(_ request: Key, _ entry: Entry) {
        let size = request.bytes.readableBytes + entry.reply.payload.readableBytes + Self.entryOverhead
        let key = request.detached()
        state.withLockedValue { store in
            guard store.adopt(registry: entry.registry) else { return }
            store.insert(key, entry, size: size)
        }
    }

    /// Entries and bytes held.
    var usage: (entries: Int, bytes: Int) { state.withLockedValue { ($0.count, $0.bytes) } }

    /// The answers in insertion order, bounded by count and bytes; the oldest are evicted first.
    struct BoundedStore {
        private struct Slot {
            var entry: Entry
            var size: Int
            var sequence: UInt64
        }

        let maximumEntries: Int
        let maximumBytes: Int
        private var slots: [Key: Slot] = [:]
        /// Keys in insertion order with the sequence number they were inserted under; a key removed or
        /// replaced since leaves a dead element here, skipped when it reaches the front.
        private var order = CircularBuffer<(key: Key, sequence: UInt64)>()
        private var sequence: UInt64 = 0
        private(set) var bytes = 0
        /// The registry publication the entries were computed under.
        private var registry: UInt64 = 0

        init(maximumEntries: Int, maximumBytes: Int) {
            self.maximumEntries = maximumEntries
            self.maximumBytes = maximumBytes
        }

        var count: Int { slots.count }

        func value(for key: Key) -> Entry? { slots[key]?.entry }

        /// Whether entries of registry publication `registry` belong here: a newer registry drops every entry
        /// (a reload replaces providers, and an entry would keep its replaced provider and key set alive), an
        /// older one (a call that read the registry before a reload landed) is neither served nor kept.
        mutating func adopt(registry: UInt64) -> Bool {
            if registry == self.registry { return true }
            guard registry > self.registry else { return false }
            self.registry = registry
            slots.removeAll()
            order.removeAll()
            bytes = 0
            return true
        }

        mutating func remove(_ key: Key) {
            if let removed = slots.removeValue(forKey: key) { bytes -= removed.size }
        }

        /// Inserts (or replaces) an answer, then evicts the oldest until both bounds hold. An answer larger
        /// than the whole byte budget is not kept.
        mutating func insert(_ key: Key, _ entry: Entry, size: Int) {
            guard size <= maximumBytes else { return }
            sequence &+= 1
            if let replaced = slots.updateValue(Slot(entry: entry, size: size, sequence: sequence), forKey: key) {
                bytes -= replaced.size
            }
            bytes += size
            order.append((key, sequence))
            // Dead elements are at most one per insert since the last compaction: past twice the live
            // entries, drop them so the queue stays bounded too.
            while slots.count > maximumEntries || bytes > maximumBytes || order.count > 2 * maximumEntries {
                let oldest = order.removeFirst()
                if let slot = slots[oldest.key], slot.sequence == oldest.sequence {
                    slots.removeValue(forKey: oldest.key)
                    bytes -= slot.size
                }
            }
        }
    }
}
