/// A whole, validated jwksd configuration. Only ``ConfigLoader`` makes one from a file, so a value of
/// this type is never half-built.
public struct JWKSDConfig: Sendable, Equatable {
    /// The file format version (1).
    public var version: Int = 1
    /// The `server:` section.
    public var server = ServerConfig()
    /// The `defaults:` section as effective (built-ins with the file's values applied).
    public var defaults = ProviderPolicy()
    /// The tenants in file order.
    public var tenants: [TenantConfig] = []
    /// The directory relative paths are resolved against (the config file's directory).
    public var baseDirectory: String = "."

    /// An empty configuration with built-in defaults.
    public init() {}

    /// The number of providers across all tenants.
    public var providerCount: Int { tenants.reduce(0) { $0 + $1.providers.count } }

    /// Resolves a path from the file against ``baseDirectory``; absolute paths are returned as they are.
    /// - Parameter path: a path as written in the config.
    /// - Returns: an absolute path, or one relative to the working directory if the base is relative.
    public func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        if baseDirectory == "." || baseDirectory.isEmpty { return String(relative) }
        return baseDirectory.hasSuffix("/") ? baseDirectory + relative : baseDirectory + "/" + relative
    }
}
