/// The numbered methods of protocol version 1.
public enum Method: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// One key by (tenant, provider, kid).
    case getKey = 1
    /// A provider's whole JWK Set.
    case getKeySet = 2
    /// Tenants and their providers.
    case listTenants = 3
    /// Per-provider state.
    case status = 4
    /// Refetch now (admin).
    case refresh = 5
    /// Re-read the config file (admin).
    case reload = 6
    /// Server stream of key-set changes.
    case watch = 7
    /// Readiness.
    case health = 8
    /// Verify a compact JWS with a provider's keys and claims rules.
    case verifyJWT = 9

    /// Whether the server answers with a stream of MESSAGE frames before the final RESPONSE.
    public var isServerStreaming: Bool { self == .watch }

    /// The method's name, e.g. `GetKey`.
    public var description: String {
        switch self {
        case .getKey: "GetKey"
        case .getKeySet: "GetKeySet"
        case .listTenants: "ListTenants"
        case .status: "Status"
        case .refresh: "Refresh"
        case .reload: "Reload"
        case .watch: "Watch"
        case .health: "Health"
        case .verifyJWT: "VerifyJWT"
        }
    }
}
