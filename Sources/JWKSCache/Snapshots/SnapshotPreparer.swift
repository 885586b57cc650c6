/// Builds what a published snapshot carries for its readers (the socket server's encoded replies), once per
/// publication, on the writer's side. Receives `nil` when the provider has no keys.
public typealias SnapshotPreparer<Instant: InstantProtocol> =
    @Sendable (ProviderKey, KeySetRecord<Instant>?) -> (any AnyObject & Sendable)? where Instant.Duration == Duration
