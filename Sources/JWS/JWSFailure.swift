/// Why a token does not verify: a reason from the protocol's fixed list and a precise detail.
public struct JWSFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reasons a token is refused (PROTOCOL.md, VerifyJWT): the first word of the UNAUTHENTICATED text.
    public enum Reason: String, Sendable, Equatable, CaseIterable {
        /// Not a compact JWS jwksd can read: parts, base64url, JSON, size.
        case malformed
        /// An `alg` that is not one jwksd verifies (`none`, HS*, unknown).
        case unsupportedAlg = "unsupported_alg"
        /// The key does not allow the token's `alg` (its own `alg`, its type, or the configured allowlist).
        case algNotAllowed = "alg_not_allowed"
        /// No key of the provider matches the token's `kid` (or, without a kid, no single key fits).
        case unknownKid = "unknown_kid"
        /// The signature does not verify with the key.
        case badSignature = "bad_signature"
        /// `exp` has passed (beyond the leeway).
        case expired
        /// `nbf` is still ahead (beyond the leeway).
        case notYetValid = "not_yet_valid"
        /// `iss` is not the provider's issuer.
        case badIssuer = "bad_issuer"
        /// `aud` names none of the expected audiences.
        case badAudience = "bad_audience"
        /// A required claim is absent.
        case missingClaim = "missing_claim"
        /// The header's `crit` names an extension (jwksd understands none).
        case critUnsupported = "crit_unsupported"
        /// The header's `typ` is not one of the configured types.
        case badType = "bad_type"
    }

    /// The reason.
    public var reason: Reason
    /// What exactly, for the caller's logs; never contains token bytes unescaped.
    public var detail: String

    /// Creates a failure.
    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// `reason: detail`, the text of an UNAUTHENTICATED reply.
    public var description: String { "\(reason.rawValue): \(detail)" }
}
