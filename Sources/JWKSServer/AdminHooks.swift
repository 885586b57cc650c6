public import JWKSWire

/// What the server asks of the daemon for Reload and for the config part of Status.
public protocol AdminHooks: Sendable {
    /// Re-reads and applies the config file.
    func reload() async -> Jwksd_V1_ReloadResult
    /// The config generation in force.
    var configGeneration: UInt64 { get }
    /// The last reload's result, if there was one.
    var lastReload: Jwksd_V1_ReloadResult? { get }
}

/// Hooks for a server without a config file behind it: Reload answers FAILED_PRECONDITION.
public struct NoAdminHooks: AdminHooks {
    /// Creates the hooks.
    public init() {}

    public func reload() async -> Jwksd_V1_ReloadResult {
        var result = Jwksd_V1_ReloadResult()
        result.ok = false
        result.error = "this server has no config file to reload"
        result.generation = 1
        return result
    }

    public var configGeneration: UInt64 { 1 }
    public var lastReload: Jwksd_V1_ReloadResult? { nil }
}
