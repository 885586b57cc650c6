import JWKSWire

/// The copy ``JWKSKeyCache`` holds and the rules that keep it consistent: a value changed under one lock, by
/// lookups (read, keep) and by the Watch's deliveries (apply, end) on the event loop.
struct KeyCacheState: Sendable {
    /// A lookup as the caller made it: a lookup that named no provider is held apart from one that did.
    struct Lookup: Hashable, Sendable {
        var tenant: String
        var provider: String
        var kid: String
        var alg: String
    }

    /// What a miss saw before it asked the daemon: its answer is kept only if nothing changed since.
    struct Ticket: Sendable {
        var epoch: UInt64
        var generation: UInt64
    }

    /// Kept answers by kid: a hit hashes the kid only and compares the few short strings of its bucket.
    private var byKid: [String: [KeyAnswer]] = [:]
    /// Answers kept across the buckets.
    private(set) var count = 0
    /// The subscription is written and has not ended: entries may be kept and answered.
    private(set) var live = false
    /// One per subscription; deliveries of an older one change nothing.
    private var epoch: UInt64 = 0
    /// Bumped by every event and subscription, so a miss that straddles one is not kept.
    private var generation: UInt64 = 0

    /// A new subscription starts: nothing held from before can be trusted.
    mutating func begin() -> UInt64 {
        epoch &+= 1
        generation &+= 1
        live = false
        removeAll()
        return epoch
    }

    /// The subscription's REQUEST is written: later misses on its connection are answered after it took effect.
    mutating func goLive(_ subscription: UInt64) {
        if subscription == epoch { live = true }
    }

    /// The subscription ended (or its connection closed): drop the copy until the next one.
    mutating func end(_ subscription: UInt64) {
        guard subscription == epoch else { return }
        epoch &+= 1
        generation &+= 1
        live = false
        removeAll()
    }

    /// The cache closes.
    mutating func stop() {
        end(epoch)
    }

    /// A change: drop what it may have changed, before any later reply on the connection is delivered.
    mutating func apply(_ event: Jwksd_V1_WatchEvent, epoch subscription: UInt64) {
        guard subscription == epoch else { return }
        generation &+= 1
        if event.kind == .reloaded {
            // Provider order (lookups naming no provider) or access may have changed: nothing held is sure.
            removeAll()
            return
        }
        var kept = 0
        byKid = byKid.compactMapValues { bucket in
            let staying = bucket.filter { held in
                held.tenant != event.tenant || !(held.provider.isEmpty || held.provider == event.provider)
            }
            kept += staying.count
            return staying.isEmpty ? nil : staying
        }
        count = kept
    }

    /// The kept answer of an identical lookup, when live.
    func answer(_ lookup: Lookup) -> KeyAnswer? {
        guard live, let bucket = byKid[lookup.kid] else { return nil }
        for held in bucket where held.answers(tenant: lookup.tenant, provider: lookup.provider, alg: lookup.alg) {
            return held
        }
        return nil
    }

    /// A miss's ticket, or nil when its answer could not be kept (copy not live, tenant not followed).
    func ticket(tenant: String, followed: [String]) -> Ticket? {
        guard live, followed.isEmpty || followed.contains(tenant) else { return nil }
        return Ticket(epoch: epoch, generation: generation)
    }

    /// Keeps a miss's answer when nothing changed since its ticket; at `limit`, drops an entry first.
    mutating func keep(_ held: KeyAnswer, kid: String, ticket: Ticket, limit: Int) {
        guard live, ticket.epoch == epoch, ticket.generation == generation else { return }
        var bucket = byKid[kid] ?? []
        if let index = bucket.firstIndex(where: {
            $0.answers(tenant: held.tenant, provider: held.provider, alg: held.alg)
        }) {
            bucket[index] = held
            byKid[kid] = bucket
            return
        }
        if count >= limit, let first = byKid.indices.first {
            count -= byKid[first].value.count
            byKid.remove(at: first)
            bucket = byKid[kid] ?? []
        }
        bucket.append(held)
        byKid[kid] = bucket
        count += 1
    }

    private mutating func removeAll() {
        byKid.removeAll()
        count = 0
    }
}
