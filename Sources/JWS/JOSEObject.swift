public import JWKS

/// A JOSE JSON object (a protected header, a claims set) read from a token's bytes: JSON, an object, and no
/// member named twice (RFC 7515 §4, RFC 7519 §4: such a token is refused rather than read one way here and
/// another way elsewhere).
public enum JOSEObject {
    /// Parses `bytes` as the token's `part`.
    /// - Parameters:
    ///   - bytes: the decoded part.
    ///   - part: its name in messages (`header`, `payload`).
    ///   - expected: what it must be, in messages (`an object`).
    /// - Returns: the object.
    /// - Throws: ``JWSFailure`` `malformed` saying what is wrong.
    public static func parse(_ bytes: [UInt8], part: String, expected: String) throws(JWSFailure) -> JSONValue {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw JWSFailure(.malformed, "the \(part) is not JSON: \(error)")
        }
        guard let members = value.objectMembers else {
            throw JWSFailure(.malformed, "the \(part) is JSON \(value.typeDescription), not \(expected)")
        }
        if let repeated = firstRepeatedName(members) {
            throw JWSFailure(.malformed, "the \(part) names \"\(Printable.quoted(repeated, limit: 64))\" twice")
        }
        return value
    }

    /// The first name a member repeats: pairwise for the few members a header or claims set has (no hashing,
    /// no allocation), through a set past 16.
    static func firstRepeatedName(_ members: [JSONValue.Member]) -> String? {
        if members.count <= 16 {
            for later in members.indices.dropFirst() {
                for earlier in 0..<later where members[earlier].name == members[later].name {
                    return members[later].name
                }
            }
            return nil
        }
        var names = Set<String>()
        for member in members where !names.insert(member.name).inserted { return member.name }
        return nil
    }
}
