/// One provider of a tenant: its source and effective policy (defaults with its overrides applied).
public struct ProviderConfig: Sendable, Equatable {
    /// The provider id, unique within its tenant.
    public var id: String
    /// Where its keys come from.
    public var source: KeySourceConfig
    /// The effective policy.
    public var policy: ProviderPolicy

    /// Creates a provider.
    public init(id: String, source: KeySourceConfig, policy: ProviderPolicy) {
        self.id = id
        self.source = source
        self.policy = policy
    }
}
