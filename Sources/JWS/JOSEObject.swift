import JWKS

/// A JOSE JSON object (a protected header, a claims set) read from a token's bytes: JSON, an object, and no
/// member named twice (RFC 7515 §4, RFC 7519 §4: such a token is refused rather than read one way here and
/// another way elsewhere).
enum JOSEObject {
    /// Parses `bytes` as the token's `part`.
    /// - Parameters:
    ///   - bytes: the decoded part.
    ///   - part: its name in messages (`header`, `payload`).
    ///   - expected: what it must be, in messages (`an object`).
    /// - Returns: the object and its member names.
    /// - Throws: ``JWSFailure`` `malformed` saying what is wrong.
    static func parse(_ bytes: [UInt8], part: String, expected: String) throws(JWSFailure) -> (
        value: JSONValue, names: Set<String>
    ) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw JWSFailure(.malformed, "the \(part) is not JSON: \(error)")
        }
        guard let members = value.objectMembers else {
            throw JWSFailure(.malformed, "the \(part) is JSON \(value.typeDescription), not \(expected)")
        }
        var names = Set<String>()
        for member in members where !names.insert(member.name).inserted {
            throw JWSFailure(.malformed, "the \(part) names \"\(Printable.quoted(member.name, limit: 64))\" twice")
        }
        return (value, names)
    }
}
