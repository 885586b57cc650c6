/// Something that happened to a provider, for logs, metrics, Watch streams and tests.
public struct EngineEvent: Sendable, Equatable {
    /// What happened.
    public enum Kind: Sendable, Equatable {
        /// A fetch started.
        case fetchStarted
        /// Keys were published: a new document (`changed`) or a renewed one; `keys` usable, `dropped` left out.
        case published(changed: Bool, keys: Int, dropped: Int)
        /// A 304 (or an unchanged file) renewed the keys.
        case notModified
        /// A fetch failed; `keptKeys` when keys are still served.
        case failed(FetchFailure, keptKeys: Bool)
        /// The provider was removed.
        case removed
    }

    /// The provider.
    public var key: ProviderKey
    /// What happened.
    public var kind: Kind
    /// How long the fetch took (from sending the request to having the whole response), for outcomes of a fetch.
    public var duration: Duration?

    /// Creates an event.
    public init(key: ProviderKey, kind: Kind, duration: Duration? = nil) {
        self.key = key
        self.kind = kind
        self.duration = duration
    }
}
