public import JWKSConfig

extension KeySourceConfig {
    /// How a source is named in logs, status and snapshots (`jwks_uri https://...`, `issuer https://...`,
    /// `file /abs/path`): the one definition every ``KeySource/summary`` and the snapshot check share.
    /// - Parameter resolve: resolves a `file:` path against the config directory.
    public func summary(resolve: (String) -> String) -> String {
        switch self {
        case .jwksURI(let url): "jwks_uri \(url)"
        case .issuer(let url): "issuer \(url)"
        case .file(let path): "file \(resolve(path))"
        }
    }
}
