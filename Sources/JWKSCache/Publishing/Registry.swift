public import Atomics
public import JWKSConfig

/// The registry in force as every reader sees it: the configuration, its tenants and their providers. It is
/// immutable and a reload swaps it in one atomic store. Each provider publishes its own snapshot
/// (``ProviderEntry/snapshot``), so a lookup is one load of the registry, two dictionary reads and one load of
/// the provider's snapshot; nothing else is read, and nothing is generic.
public final class Registry: Sendable, AtomicReference {
    /// One tenant: its configuration (access lists) and its providers.
    public final class Tenant: Sendable {
        /// The tenant's configuration.
        public let config: TenantConfig
        /// Its providers, in config order (the order a lookup without a provider searches).
        public let providers: [ProviderEntry]
        private let byID: [String: ProviderEntry]

        init(config: TenantConfig, providers: [ProviderEntry]) {
            self.config = config
            self.providers = providers
            self.byID = Dictionary(providers.map { ($0.key.provider, $0) }, uniquingKeysWith: { first, _ in first })
        }

        /// One provider by id.
        @inlinable
        public func provider(_ id: String) -> ProviderEntry? { providerByID(id) }

        @usableFromInline
        func providerByID(_ id: String) -> ProviderEntry? { byID[id] }
    }

    /// The configuration in force.
    public let config: JWKSDConfig
    /// The config generation: 1 at start, one more per applied reload.
    public let generation: UInt64
    private let tenants: [String: Tenant]

    init(config: JWKSDConfig, generation: UInt64, tenants: [String: Tenant]) {
        self.config = config
        self.generation = generation
        self.tenants = tenants
    }

    /// A tenant by id.
    public func tenant(_ id: String) -> Tenant? { tenants[id] }

    /// Every provider, tenants and providers in config order.
    public var allEntries: [ProviderEntry] {
        config.tenants.flatMap { tenants[$0.id]?.providers ?? [] }
    }

    /// One provider by tenant and provider id.
    public func entry(tenant: String, provider: String) -> ProviderEntry? {
        tenants[tenant]?.provider(provider)
    }
}
