public import Atomics
public import JWKS

/// What readers see of one provider: immutable, built when something changes, swapped in atomically.
/// A lookup loads it once and compares `now` with the instants inside; it never waits for a writer.
public final class ProviderSnapshot<Instant: InstantProtocol>: Sendable, AtomicReference
where Instant.Duration == Duration {
    /// The provider.
    public let key: ProviderKey
    /// The keys with their freshness, when the provider has any.
    public let record: KeySetRecord<Instant>?
    /// The last failure since the keys were last confirmed (or since start).
    public let lastError: FetchFailure?
    /// Consecutive failures.
    public let consecutiveFailures: Int
    /// Increases with every publication of this provider.
    public let generation: UInt64
    /// What the engine's owner prepared from this snapshot when it was published (for the socket server:
    /// the encoded reply payloads), so readers do no encoding.
    public let attachment: (any AnyObject & Sendable)?

    /// Creates a snapshot.
    public init(
        key: ProviderKey, record: KeySetRecord<Instant>?, lastError: FetchFailure?, consecutiveFailures: Int,
        generation: UInt64, attachment: (any AnyObject & Sendable)? = nil
    ) {
        self.key = key
        self.record = record
        self.lastError = lastError
        self.consecutiveFailures = consecutiveFailures
        self.generation = generation
        self.attachment = attachment
    }

    /// The keys with `kid` (narrowed by `alg`) if the set may be served at `now`.
    /// - Parameters:
    ///   - kid: the key id.
    ///   - alg: an optional algorithm filter.
    ///   - now: the current instant.
    /// - Returns: the matching keys (empty when none), or `nil` when there are no servable keys.
    public func keys(kid: String, alg: String?, at now: Instant) -> [JWK]? {
        guard let record, record.standing(at: now) != .expired else { return nil }
        return record.keySet.keys(kid: kid, alg: alg)
    }

    /// The standing of the keys at `now`, or `nil` without keys.
    public func standing(at now: Instant) -> KeySetRecord<Instant>.Standing? {
        record?.standing(at: now)
    }
}
