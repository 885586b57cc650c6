public import JWKS

/// A provider's current key set with everything needed to serve, revalidate and persist it.
public struct KeySetRecord<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// The validated keys.
    public var keySet: JWKSet
    /// The response headers as stored (updated by each 304).
    public var headers: CacheHeaders
    /// The freshness last applied.
    public var freshness: Freshness
    /// When the keys were last downloaded (a 200).
    public var fetchedAt: Instant
    /// When they were last confirmed (a 200 or a 304).
    public var validatedAt: Instant
    /// When they stop being fresh.
    public var expiresAt: Instant
    /// When they stop being served at all, even as stale.
    public var staleUntil: Instant
    /// Wall-clock Unix time of the last download (for status and clients).
    public var fetchedAtWall: Int64
    /// Wall-clock Unix time of the last confirmation.
    public var validatedAtWall: Int64

    /// Wall-clock Unix time at which the keys stop being fresh.
    public var expiresAtWall: Int64 { validatedAtWall + freshness.ttl.components.seconds }

    /// Creates a record.
    public init(
        keySet: JWKSet, headers: CacheHeaders, freshness: Freshness, fetchedAt: Instant, validatedAt: Instant,
        expiresAt: Instant, staleUntil: Instant, fetchedAtWall: Int64, validatedAtWall: Int64
    ) {
        self.keySet = keySet
        self.headers = headers
        self.freshness = freshness
        self.fetchedAt = fetchedAt
        self.validatedAt = validatedAt
        self.expiresAt = expiresAt
        self.staleUntil = staleUntil
        self.fetchedAtWall = fetchedAtWall
        self.validatedAtWall = validatedAtWall
    }

    /// Whether the keys are fresh, stale but servable, or past the stale limit at `now`.
    /// - Parameter now: the current instant.
    /// - Returns: the keys' standing.
    public func standing(at now: Instant) -> Standing {
        if now < expiresAt { return .fresh }
        if now < staleUntil { return .stale }
        return .expired
    }

    /// The standing of a key set at one instant.
    public enum Standing: Sendable, Equatable {
        /// Before `expiresAt`: serve normally.
        case fresh
        /// Between `expiresAt` and `staleUntil`: serve, marked stale.
        case stale
        /// From `staleUntil` on: do not serve.
        case expired
    }
}

extension KeySetRecord: Equatable where Instant: Equatable {}
