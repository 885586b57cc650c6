/// The `verify:` settings of a provider (VerifyJWT): what a token's claims and header must say besides its
/// signature. In `defaults:` and per provider; a provider's fields override the defaults' field by field.
public struct VerifyPolicy: Sendable, Equatable {
    /// Which audiences a token must be for.
    public enum Audiences: Sendable, Equatable {
        /// Not configured: a call must name its audiences, or it is refused (a token for another service must
        /// never pass by default).
        case unset
        /// `any`: the audience is not checked, by explicit choice.
        case any
        /// `aud` must name one of these.
        case oneOf([String])
    }

    /// The JWS algorithm names VerifyJWT knows (RFC 7518, RFC 8037).
    public static let algorithmNames = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
    ]

    /// The issuer `iss` must equal; nil means the discovery issuer for `issuer:` providers and no check for the
    /// others.
    public var issuer: String?
    /// The audiences.
    public var audiences: Audiences = .unset
    /// The algorithms accepted; nil for every one a key allows.
    public var algorithms: [String]?
    /// Slack for `exp` and `nbf`.
    public var leeway: Duration = .seconds(60)
    /// Claims every token must have.
    public var requiredClaims: [String] = ["exp"]
    /// The `typ` values accepted; nil when `typ` is not checked.
    public var types: [String]?
    /// Tokens longer than this are refused as malformed.
    public var maxTokenBytes: Int = 16_384

    /// The built-in settings.
    public init() {}
}
