public import JWKSConfig

/// Builds the ``KeySource`` for a provider's configured source.
public struct KeySourceFactory: Sendable {
    /// The shared fetcher for HTTP sources.
    public let fetcher: HTTPFetcher
    /// Resolves `file:` paths (against the config file's directory).
    public let resolvePath: @Sendable (String) -> String

    /// Creates a factory.
    public init(fetcher: HTTPFetcher, resolvePath: @escaping @Sendable (String) -> String) {
        self.fetcher = fetcher
        self.resolvePath = resolvePath
    }

    /// The source for one provider.
    /// - Parameter provider: the provider's config.
    /// - Returns: a source that fetches its keys.
    public func makeSource(for provider: ProviderConfig) -> any KeySource {
        switch provider.source {
        case .jwksURI(let url): JWKSURISource(url: url, policy: provider.policy, fetcher: fetcher)
        case .issuer(let issuer): OIDCDiscoverySource(issuer: issuer, policy: provider.policy, fetcher: fetcher)
        case .file(let path): FileKeySource(path: resolvePath(path), maxBytes: provider.policy.maxResponseBytes)
        }
    }
}
