/// A provider's state for `jwksd status` and the Status RPC.
public struct ProviderStatus: Sendable, Equatable {
    /// The provider.
    public var key: ProviderKey
    /// Where its keys come from.
    public var source: String
    /// `empty`, `loading`, `ready`, `refreshing` or `removed`.
    public var state: String
    /// Whether the keys are `fresh`, `stale`, `expired`, or `none`.
    public var standing: String
    /// Usable keys.
    public var keyCount: Int
    /// Keys dropped from the current set.
    public var droppedCount: Int
    /// The stored ETag.
    public var etag: String?
    /// Wall-clock Unix time of the last download, if any.
    public var fetchedAt: Int64?
    /// Wall-clock Unix time of the last confirmation (200 or 304), if any.
    public var validatedAt: Int64?
    /// Wall-clock Unix time the keys stop being fresh.
    public var expiresAt: Int64?
    /// Wall-clock Unix time the keys stop being served.
    public var staleUntil: Int64?
    /// Wall-clock Unix time of the next refresh or retry.
    public var nextAttempt: Int64?
    /// Consecutive failures.
    public var consecutiveFailures: Int
    /// The last failure.
    public var lastError: FetchFailure?
}
