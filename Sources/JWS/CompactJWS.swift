import JWKS

/// A compact JWS (`header.payload.signature`, RFC 7515 §7.1) split, decoded and its header checked; not yet
/// verified. The header and payload are kept byte for byte as the token carries them (after base64url), so a
/// caller gets exactly what was signed.
public struct CompactJWS: Sendable {
    /// Tokens longer than this are `malformed` unless a caller sets its own bound.
    public static let defaultMaximumBytes = 16_384

    /// The header's `alg`, one jwksd verifies.
    public let algorithm: JWSAlgorithm
    /// The header's `kid`, when it has one.
    public let kid: String?
    /// The header's `typ`, when it has one.
    public let type: String?
    /// The protected header's JSON, byte for byte.
    public let header: [UInt8]
    /// The payload, byte for byte.
    public let payload: [UInt8]
    /// The signature's bytes.
    let signature: [UInt8]
    /// What was signed: the token up to its second dot.
    let signingInput: ArraySlice<UInt8>

    /// Splits and checks a token.
    /// - Parameters:
    ///   - token: the compact serialisation.
    ///   - maximumBytes: the longest token accepted.
    /// - Throws: ``JWSFailure`` `malformed` (shape, encoding, header JSON, size), `unsupported_alg` (`none`,
    ///   HS*, anything jwksd does not verify) or `crit_unsupported`.
    public init(_ token: [UInt8], maximumBytes: Int = defaultMaximumBytes) throws(JWSFailure) {
        guard token.count <= maximumBytes else {
            throw JWSFailure(.malformed, "the token is \(token.count) bytes, more than \(maximumBytes)")
        }
        let dots = token.indices.filter { token[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else {
            throw JWSFailure(
                .malformed, "a compact JWS has 3 parts separated by dots; this token has \(dots.count + 1)")
        }
        guard let header = Base64URL.decodeStrict(token[..<dots[0]]), !header.isEmpty else {
            throw JWSFailure(.malformed, "the header is not base64url (RFC 7515: URL-safe alphabet, no padding)")
        }
        guard let payload = Base64URL.decodeStrict(token[(dots[0] + 1)..<dots[1]]) else {
            throw JWSFailure(.malformed, "the payload is not base64url (RFC 7515: URL-safe alphabet, no padding)")
        }
        guard let signature = Base64URL.decodeStrict(token[(dots[1] + 1)...]) else {
            throw JWSFailure(.malformed, "the signature is not base64url (RFC 7515: URL-safe alphabet, no padding)")
        }
        let fields = try Self.headerFields(header)
        algorithm = fields.algorithm
        kid = fields.kid
        type = fields.type
        self.header = header
        self.payload = payload
        self.signature = signature
        signingInput = token[..<dots[1]]
    }

    /// Splits and checks a token given as text.
    public init(_ token: String, maximumBytes: Int = defaultMaximumBytes) throws(JWSFailure) {
        try self.init(Array(token.utf8), maximumBytes: maximumBytes)
    }

    private static func headerFields(_ header: [UInt8]) throws(JWSFailure) -> (
        algorithm: JWSAlgorithm, kid: String?, type: String?
    ) {
        let value = try JOSEObject.parse(header, part: "header", expected: "an object")
        guard let alg = value[member: "alg"] else { throw JWSFailure(.malformed, "the header has no \"alg\"") }
        guard let name = alg.stringValue else {
            throw JWSFailure(.malformed, "the header's \"alg\" is \(alg.typeDescription), not a string")
        }
        guard let algorithm = JWSAlgorithm(rawValue: name) else {
            throw JWSFailure(
                .unsupportedAlg,
                "\"\(Printable.quoted(name, limit: 64))\" is not one of \(JWSAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        if let crit = value[member: "crit"] {
            guard let names = crit.arrayElements, !names.isEmpty, names.allSatisfy({ $0.stringValue != nil }) else {
                throw JWSFailure(.malformed, "\"crit\" must be a non-empty array of strings (RFC 7515 §4.1.11)")
            }
            let listed = names.compactMap(\.stringValue).map { "\"\(Printable.quoted($0, limit: 64))\"" }.joined(
                separator: ", ")
            throw JWSFailure(.critUnsupported, "the header's crit names \(listed); jwksd understands no extension")
        }
        if let b64 = value[member: "b64"], b64.kind != .bool(true) {
            throw JWSFailure(.malformed, "\"b64\" other than true (RFC 7797 unencoded payloads) is not supported")
        }
        return (algorithm, try optionalString(value, "kid"), try optionalString(value, "typ"))
    }

    private static func optionalString(_ header: JSONValue, _ name: String) throws(JWSFailure) -> String? {
        guard let member = header[member: name] else { return nil }
        guard let text = member.stringValue else {
            throw JWSFailure(.malformed, "the header's \"\(name)\" is \(member.typeDescription), not a string")
        }
        return text
    }
}
