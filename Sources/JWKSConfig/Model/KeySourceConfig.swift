/// Where a provider's keys come from: exactly one per provider.
public enum KeySourceConfig: Sendable, Equatable {
    /// A JWKS URL fetched directly.
    case jwksURI(HTTPURL)
    /// An OIDC issuer: `<issuer>/.well-known/openid-configuration` names the JWKS URL.
    case issuer(HTTPURL)
    /// A local JWKS file, as written in the config (resolve with ``JWKSDConfig/resolve(_:)``).
    case file(String)

    /// The config key that selects this source.
    public var key: String {
        switch self {
        case .jwksURI: "jwks_uri"
        case .issuer: "issuer"
        case .file: "file"
        }
    }

    /// The URL or path as written.
    public var location: String {
        switch self {
        case .jwksURI(let url), .issuer(let url): url.text
        case .file(let path): path
        }
    }
}
