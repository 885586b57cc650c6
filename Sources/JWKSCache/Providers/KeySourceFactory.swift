public import JWKSConfig

/// Builds the ``KeySource`` for a provider's configured source.
public struct KeySourceFactory: Sendable {
    /// The shared fetcher for HTTP sources.
    public let fetcher: HTTPFetcher
    /// Resolves `file:` and `ca_file` paths (against the config file's directory).
    public let resolvePath: @Sendable (String) -> String
    /// The engine's clock: discovery documents expire on it.
    public let clock: any EngineClock

    /// Creates a factory.
    /// - Parameters:
    ///   - fetcher: the shared fetcher for HTTP sources.
    ///   - resolvePath: resolves relative paths against the config file's directory.
    ///   - clock: the engine's clock.
    public init(fetcher: HTTPFetcher, resolvePath: @escaping @Sendable (String) -> String, clock: any EngineClock) {
        self.fetcher = fetcher
        self.resolvePath = resolvePath
        self.clock = clock
    }

    /// The source for one provider.
    /// - Parameter provider: the provider's config.
    /// - Returns: a source that fetches its keys.
    public func makeSource(for provider: ProviderConfig) -> any KeySource {
        var policy = provider.policy
        policy.caFile = policy.caFile.map(resolvePath)
        switch provider.source {
        case .jwksURI(let url): return JWKSURISource(url: url, policy: policy, fetcher: fetcher)
        case .issuer(let issuer):
            return OIDCDiscoverySource(issuer: issuer, policy: policy, fetcher: fetcher, clock: clock)
        case .file(let path): return FileKeySource(path: resolvePath(path), maxBytes: policy.maxResponseBytes)
        }
    }
}
