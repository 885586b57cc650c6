public import JWKS

/// The answer to a key lookup by (tenant, provider, kid).
public enum LookupOutcome: Sendable {
    /// The keys with that kid (narrowed by alg) and the snapshot they came from (for freshness and provider).
    case found([JWK], ProviderSnapshot)
    /// Why there are no keys to answer with.
    case failed(LookupFailure)
}

/// Why a lookup found no keys.
public enum LookupFailure: Error, Sendable {
    /// The tenant or provider is not configured.
    case unknownProvider(tenant: String, provider: String?)
    /// The kid is not in the set, after the kid-miss rule (a refetch, or the cooldown).
    case kidNotFound(kid: String)
    /// The provider has no servable keys (never loaded, or past its stale limit); the last failure, if any.
    case unavailable(ProviderKey, FetchFailure?)
    /// The caller's deadline passed while waiting for a fetch.
    case deadlineExceeded
}
