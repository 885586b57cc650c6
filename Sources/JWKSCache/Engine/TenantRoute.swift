public import JWKSConfig

/// One tenant as the read path sees it: its configuration and its providers (in config order and by id),
/// immutable and reached through one reference, so a lookup copies nothing.
public final class TenantRoute<C: Clock>: Sendable where C.Duration == Duration {
    /// The tenant's configuration.
    public let config: TenantConfig
    /// Its providers in config order.
    public let providers: [ProviderEntry<C>]
    let byID: [String: ProviderEntry<C>]

    init(config: TenantConfig, providers: [ProviderEntry<C>], byID: [String: ProviderEntry<C>]) {
        self.config = config
        self.providers = providers
        self.byID = byID
    }

    /// One provider by id.
    public func provider(_ id: String) -> ProviderEntry<C>? { byID[id] }
}
