public import Atomics
public import JWKS
public import JWS

/// Everything a reader sees of one provider, immutable and built when something changes: its keys with their
/// freshness, the last failure, the replies prepared for them and the keys made ready to verify tokens. Swapped in atomically; a lookup loads it
/// once, compares `now` with the instants inside and picks a prepared reply. It never waits for a writer.
public final class ProviderSnapshot: Sendable, AtomicReference {
    /// How servable the keys are at an instant.
    public typealias Standing = KeySetRecord<EngineInstant>.Standing

    /// The provider.
    public let key: ProviderKey
    /// The keys with their freshness, when the provider has any.
    public let record: KeySetRecord<EngineInstant>?
    /// The last failure since the keys were last confirmed (or since start).
    public let lastError: FetchFailure?
    /// The replies prepared for these keys when they were published (nil without keys or without a preparer).
    public let prepared: PreparedKeySet?
    /// The keys that can verify a JWS, parsed into swift-crypto's keys when the set was published (document
    /// order; encryption keys and keys jwksd cannot verify with are left out).
    public let verificationKeys: [VerificationKey]

    /// Creates a snapshot.
    /// - Parameters:
    ///   - key: the provider.
    ///   - record: its keys with their freshness.
    ///   - lastError: the last failure.
    ///   - prepared: the replies prepared for the keys.
    ///   - verificationKeys: the keys ready to verify; nil to prepare them from `record` here.
    public init(
        key: ProviderKey, record: KeySetRecord<EngineInstant>?, lastError: FetchFailure?,
        prepared: PreparedKeySet? = nil, verificationKeys: [VerificationKey]? = nil
    ) {
        self.key = key
        self.record = record
        self.lastError = lastError
        self.prepared = prepared
        self.verificationKeys = verificationKeys ?? Self.verificationKeys(of: record)
    }

    /// The keys of `record` that can verify a JWS.
    static func verificationKeys(of record: KeySetRecord<EngineInstant>?) -> [VerificationKey] {
        record?.keySet.keys.compactMap(VerificationKey.init) ?? []
    }

    /// Whether the published set has a key with `kid`, of any use (``verificationKeys`` may leave it out).
    /// - Parameter kid: the key id.
    public func publishes(kid: String) -> Bool {
        record?.keySet.keys.contains { $0.kid == kid } ?? false
    }

    /// The standing of the keys at `now` and the instant it ends (`.expired` never ends), or nil without keys.
    @inlinable
    public func standingUntil(at now: EngineInstant) -> (standing: Standing, until: EngineInstant)? {
        guard let record else { return nil }
        if now < record.expiresAt { return (.fresh, record.expiresAt) }
        if now < record.staleUntil { return (.stale, record.staleUntil) }
        return (.expired, EngineInstant(nanoseconds: .max))
    }

    /// The standing of the keys at `now`, or nil without keys.
    public func standing(at now: EngineInstant) -> Standing? {
        standingUntil(at: now)?.standing
    }

    /// The keys with `kid` (narrowed by `alg`) if the set may be served at `now`.
    /// - Returns: the matching keys (empty when none), or nil when there are no servable keys.
    public func keys(kid: String, alg: String?, at now: EngineInstant) -> [JWK]? {
        guard let record, record.standing(at: now) != .expired else { return nil }
        return record.keySet.keys(kid: kid, alg: alg)
    }
}
