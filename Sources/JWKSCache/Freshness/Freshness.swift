import JWKS
public import JWKSConfig

/// How long a response stays fresh, and what else its headers allow.
public struct Freshness: Sendable, Equatable {
    /// Where the lifetime came from.
    public enum Source: String, Sendable, Equatable {
        /// `Cache-Control: s-maxage`.
        case sharedMaxAge = "s-maxage"
        /// `Cache-Control: max-age`.
        case maxAge = "max-age"
        /// `Expires` (minus `Date`).
        case expires = "expires"
        /// `no-cache` or `no-store`: revalidate as soon as `min_ttl` allows.
        case noCache = "no-cache"
        /// Nothing said; `default_ttl`.
        case defaultTTL = "default"
    }

    /// The time to live applied: the server's remaining lifetime clamped to `[min_ttl, max_ttl]`.
    public var ttl: Duration
    /// The server's remaining lifetime before clamping (`nil` for the default).
    public var serverTTL: Duration?
    /// Where it came from.
    public var source: Source
    /// `stale-if-error`, when given.
    public var staleIfError: Duration?
    /// `false` for `no-store`: keep in memory, never write to a snapshot.
    public var storable: Bool

    /// Computes freshness from response headers and policy (RFC 9111 §4.2).
    ///
    /// The lifetime is `s-maxage`, else `max-age`, else `Expires − Date` (or `Expires −` the response time when
    /// `Date` is absent; an unparsable `Expires` means already expired). The remaining lifetime subtracts `Age`.
    /// The apparent age from `Date` is not used: a provider with a skewed clock must not shorten every TTL.
    /// `no-cache` and `no-store` make the lifetime zero, which clamps to `min_ttl`.
    /// - Parameters:
    ///   - headers: the response headers (for a 304, the stored headers updated by it).
    ///   - policy: the provider's policy.
    ///   - responseTime: the wall-clock Unix time the response arrived, read once at the HTTP edge.
    /// - Returns: the freshness to apply.
    public static func compute(headers: CacheHeaders, policy: ProviderPolicy, responseTime: Int64) -> Freshness {
        let cacheControl = CacheControl(headers.cacheControl)
        var lifetime: Int64?
        var source = Source.defaultTTL
        if cacheControl.noCache || cacheControl.noStore {
            lifetime = 0
            source = .noCache
        } else if let sharedMaxAge = cacheControl.sharedMaxAge {
            lifetime = sharedMaxAge
            source = .sharedMaxAge
        } else if let maxAge = cacheControl.maxAge {
            lifetime = maxAge
            source = .maxAge
        } else if let expires = headers.expires {
            let base = headers.date.flatMap(HTTPDate.parse) ?? responseTime
            lifetime = HTTPDate.parse(expires).map { max(0, $0 - base) } ?? 0
            source = .expires
        }
        let staleIfError = cacheControl.staleIfError.map { Duration.seconds($0) }
        guard let lifetime else {
            return Freshness(
                ttl: policy.defaultTTL, serverTTL: nil, source: .defaultTTL, staleIfError: staleIfError,
                storable: true)
        }
        let age = headers.age.flatMap { CacheControl.seconds(Substring($0)) } ?? 0
        let remaining = Duration.seconds(max(0, lifetime - age))
        let ttl = min(max(remaining, policy.minTTL), policy.maxTTL)
        return Freshness(
            ttl: ttl, serverTTL: remaining, source: source, staleIfError: staleIfError,
            storable: !cacheControl.noStore)
    }
}
