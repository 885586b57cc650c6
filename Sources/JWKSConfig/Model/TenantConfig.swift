/// One tenant: who may look up its keys, and its providers in config order.
public struct TenantConfig: Sendable, Equatable {
    /// The tenant id.
    public var id: String
    /// When set, only peers with one of these uids (or one of ``allowedGIDs``) may look up keys.
    public var allowedUIDs: [UInt32]?
    /// When set, only peers with one of these gids (or one of ``allowedUIDs``) may look up keys.
    public var allowedGIDs: [UInt32]?
    /// The providers, in the order a lookup without a provider searches them.
    public var providers: [ProviderConfig]

    /// Creates a tenant.
    public init(id: String, allowedUIDs: [UInt32]? = nil, allowedGIDs: [UInt32]? = nil, providers: [ProviderConfig]) {
        self.id = id
        self.allowedUIDs = allowedUIDs
        self.allowedGIDs = allowedGIDs
        self.providers = providers
    }
}
