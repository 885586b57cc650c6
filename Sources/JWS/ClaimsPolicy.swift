/// What a verified token's claims and header must say, besides its signature: the `verify:` settings of a
/// provider, resolved. Times are Unix seconds.
public struct ClaimsPolicy: Sendable, Equatable {
    /// Which audiences a token may be for.
    public enum Audiences: Sendable, Equatable {
        /// The check is off (configured as `any`).
        case any
        /// `aud` (a string or an array of strings) must name at least one of these.
        case oneOf(Set<String>)
    }

    /// The issuer `iss` must equal; nil when `iss` is not checked.
    public var issuer: String?
    /// The audiences.
    public var audiences: Audiences
    /// Slack for `exp` and `nbf`, in seconds.
    public var leewaySeconds: Int64
    /// Claims that must be present.
    public var requiredClaims: [String]
    /// The `typ` values accepted (compared without case, with or without `application/`); nil when not checked.
    public var types: [String]?
    /// The algorithms accepted; nil for every one the key allows.
    public var algorithms: Set<JWSAlgorithm>?

    /// Creates a policy.
    public init(
        issuer: String? = nil, audiences: Audiences, leewaySeconds: Int64 = 60, requiredClaims: [String] = ["exp"],
        types: [String]? = nil, algorithms: Set<JWSAlgorithm>? = nil
    ) {
        self.issuer = issuer
        self.audiences = audiences
        self.leewaySeconds = leewaySeconds
        self.requiredClaims = requiredClaims
        self.types = types
        self.algorithms = algorithms
    }
}
