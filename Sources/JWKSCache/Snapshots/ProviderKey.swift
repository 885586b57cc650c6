/// Names one provider: lookups are always per (tenant, provider), never by kid alone.
public struct ProviderKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The tenant id.
    public var tenant: String
    /// The provider id within the tenant.
    public var provider: String

    /// Creates a key.
    public init(tenant: String, provider: String) {
        self.tenant = tenant
        self.provider = provider
    }

    public static func < (lhs: ProviderKey, rhs: ProviderKey) -> Bool {
        (lhs.tenant, lhs.provider) < (rhs.tenant, rhs.provider)
    }

    public var description: String { "\(tenant)/\(provider)" }
}
