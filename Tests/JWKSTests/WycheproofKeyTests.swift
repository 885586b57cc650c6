import Testing

@testable import JWKS

/// The key sets of Wycheproof's `json_web_key_test.json`, each group's `public` and `private` sets.
@Suite("Wycheproof JSON Web Key vectors")
struct WycheproofKeyTests {
    /// Expected outcome per group comment and member: usable count, or the drop reason of its one key.
    static let expected: [String: [String: String]] = [
        "jws_mixedSymmetryKeyset": ["private": "usable 1, dropped symmetric_key"],
        "jws_keyset": ["private": "symmetric_key,symmetric_key"],
        "jws_duplicate_kid": ["private": "symmetric_key,symmetric_key"],
        "rs256": ["public": "usable 1", "private": "private_key_material"],
        "jws_rsa_roca_key": ["public": "usable 1", "private": "private_key_material"],
        "keysize_too_small": ["public": "weak_key", "private": "private_key_material"],
        "exponentOne": ["public": "malformed", "private": "private_key_material"],
        "HS256": ["private": "symmetric_key"],
        "HS384": ["private": "symmetric_key"],
        "HS512": ["private": "symmetric_key"],
        "wrong_algorithm": ["public": "unknown_alg", "private": "private_key_material"],
        "invalid_algorithm": ["public": "unknown_alg", "private": "private_key_material"],
        "invalid_use": ["public": "use_mismatch", "private": "private_key_material"],
        "invalid_point": ["public": "malformed", "private": "private_key_material"],
        "wrong_curve": ["public": "malformed", "private": "private_key_material"],
        "wrong_kty": ["public": "malformed", "private": "private_key_material"],
        "invalid_aes_gcm_key": ["private": "symmetric_key"],
        "invalid_aes_kw_key": ["private": "symmetric_key"],
    ]

    @Test("each group's key sets are validated as the group comment demands")
    func groups() throws {
        let bytes = try FixtureLoader.bytes("wycheproof-json_web_key_test.json")
        let groups = try #require(try JSONParser.parse(bytes)[member: "testGroups"]?.arrayElements)
        #expect(groups.count == 25)
        var checked = 0
        for group in groups {
            let comment = try #require(group[member: "comment"]?.stringValue)
            for member in ["public", "private"] {
                guard let value = group[member: member] else { continue }
                let expectation = try #require(Self.expected[comment]?[member], "\(comment).\(member)")
                let document = Array(bytes[value.range])
                let outcome: String
                do {
                    let set = try JWKSet(parsing: document)
                    outcome =
                        "usable \(set.keys.count)"
                        + (set.dropped.isEmpty
                            ? "" : ", dropped " + set.dropped.map(\.reason.code).joined(separator: ","))
                } catch {
                    #expect(error.code == .noUsableKeys)
                    outcome = error.dropped.map(\.reason.code).joined(separator: ",")
                }
                #expect(outcome == expectation, "\(comment).\(member)")
                checked += 1
            }
        }
        #expect(checked == 36)
    }
}
