import JWKS

/// The claims rules of VerifyJWT (RFC 7519 §4.1, RFC 7515 §4.1.9), applied to a token whose signature has been
/// checked: the payload must be a JSON object without duplicate names; then required claims, `exp`, `nbf`,
/// `iss`, `aud` and the header's `typ`, in that order, the first failure reported.
enum ClaimsCheck {
    /// Checks the claims; returns the token's `exp` (Unix seconds, nil when it has none), which bounds how long
    /// the daemon may remember that it verified.
    static func check(_ jws: CompactJWS, policy: ClaimsPolicy, now: Double) throws(JWSFailure) -> Double? {
        let claims = try JOSEObject.parse(jws.payload, part: "payload", expected: "an object of claims")
        for required in policy.requiredClaims where claims[member: required] == nil {
            throw JWSFailure(.missingClaim, "the token has no \"\(required)\" claim")
        }
        let leeway = Double(policy.leewaySeconds)
        let expiration = try numericDate(claims, "exp")
        if let exp = expiration, now >= exp + leeway {
            throw JWSFailure(
                .expired,
                "exp \(format(exp)) is \(format(now - exp)) s before now (leeway \(policy.leewaySeconds) s)")
        }
        if let nbf = try numericDate(claims, "nbf"), now + leeway < nbf {
            throw JWSFailure(
                .notYetValid,
                "nbf \(format(nbf)) is \(format(nbf - now)) s after now (leeway \(policy.leewaySeconds) s)")
        }
        if let issuer = policy.issuer {
            guard let iss = claims[member: "iss"] else {
                throw JWSFailure(.badIssuer, "the token has no iss; expected \"\(issuer)\"")
            }
            guard let text = iss.stringValue else {
                throw JWSFailure(.malformed, "iss is \(iss.typeDescription), not a string")
            }
            guard text == issuer else {
                throw JWSFailure(.badIssuer, "iss \"\(Printable.quoted(text, limit: 128))\" is not \"\(issuer)\"")
            }
        }
        if case .oneOf(let expected) = policy.audiences {
            guard let aud = claims[member: "aud"] else { throw JWSFailure(.badAudience, "the token has no aud") }
            let named: [String]
            if let single = aud.stringValue {
                named = [single]
            } else if let elements = aud.arrayElements, elements.allSatisfy({ $0.stringValue != nil }) {
                named = elements.compactMap(\.stringValue)
            } else {
                throw JWSFailure(.malformed, "aud is neither a string nor an array of strings")
            }
            guard named.contains(where: expected.contains) else {
                let shown = named.prefix(4).map { "\"\(Printable.quoted($0, limit: 64))\"" }.joined(separator: ", ")
                throw JWSFailure(.badAudience, "aud [\(shown)] names none of the expected audiences")
            }
        }
        if let types = policy.types {
            guard let type = jws.type else {
                throw JWSFailure(.badType, "the header has no typ; expected one of \(types)")
            }
            guard types.contains(where: { Self.sameType($0, type) }) else {
                throw JWSFailure(.badType, "typ \"\(Printable.quoted(type, limit: 64))\" is not one of \(types)")
            }
        }
        return expiration
    }

    /// A NumericDate claim (RFC 7519 §2): a JSON number of seconds, possibly fractional; nil when absent.
    private static func numericDate(_ claims: JSONValue, _ name: String) throws(JWSFailure) -> Double? {
        guard let value = claims[member: name] else { return nil }
        guard case .number(let text) = value.kind, let seconds = Double(text), seconds.isFinite else {
            throw JWSFailure(.malformed, "\(name) is \(value.typeDescription), not a number of seconds")
        }
        return seconds
    }

    /// `typ` values compare without case, and `JWT` equals `application/JWT` (RFC 7515 §4.1.9).
    static func sameType(_ expected: String, _ actual: String) -> Bool {
        func normal(_ text: String) -> String {
            let lower = text.lowercased()
            return lower.hasPrefix("application/") ? String(lower.dropFirst("application/".count)) : lower
        }
        return normal(expected) == normal(actual)
    }

    private static func format(_ seconds: Double) -> String {
        seconds.rounded() == seconds && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(seconds)
    }
}
