import Foundation
import JWKS
import Testing

@testable import JWS

/// Wycheproof's JSON Web Signature vectors (401 tests) through the parser and a key prepared from the group's
/// public JWK, as a provider's key would be.
@Suite("Wycheproof JWS vectors")
struct WycheproofJWSTests {
    struct Case: Sendable {
        var id: Int
        var group: String
        var comment: String
        var token: String
        var valid: Bool
        var key: JWK?
    }

    static func cases() throws -> [Case] {
        let document = try #require(try JWSFixture.json("wycheproof-json_web_signature_test.json") as? [String: Any])
        let groups = try #require(document["testGroups"] as? [[String: Any]])
        var cases: [Case] = []
        for group in groups {
            let key = (group["public"] as? [String: Any]).flatMap(JWSFixture.jwk)
            for test in try #require(group["tests"] as? [[String: Any]]) {
                guard let token = test["jws"] as? String else { continue }
                cases.append(
                    Case(
                        id: test["tcId"] as! Int, group: group["comment"] as! String,
                        comment: test["comment"] as! String, token: token, valid: test["result"] as! String == "valid",
                        key: key))
            }
        }
        return cases
    }

    /// The header's alg, read leniently (for classifying vectors, not for verifying them).
    static func headerAlg(_ token: String) -> String? {
        guard let part = token.split(separator: ".", omittingEmptySubsequences: false).first,
            let bytes = try? Base64URL.decode(String(part)),
            let header = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else { return nil }
        return header["alg"] as? String
    }

    static func verify(_ testCase: Case) -> Result<CompactJWS, JWSFailure> {
        do throws(JWSFailure) {
            let jws = try CompactJWS(testCase.token)
            guard let jwk = testCase.key, let key = VerificationKey(jwk) else {
                throw JWSFailure(.unknownKid, "no usable key")
            }
            try key.verify(jws)
            return .success(jws)
        } catch {
            return .failure(error)
        }
    }

    @Test("no invalid token verifies; every valid one does, except HMAC tokens and keys jwksd does not use")
    func vectors() throws {
        let cases = try Self.cases()
        #expect(cases.count == 401)
        var refusedValid: [Int: String] = [:]
        for testCase in cases {
            switch Self.verify(testCase) {
            case .success:
                #expect(testCase.valid, "tc \(testCase.id) (\(testCase.group) \(testCase.comment)) verified")
            case .failure(let failure):
                if testCase.valid { refusedValid[testCase.id] = failure.reason.rawValue }
            }
        }
        // Valid for a JOSE library, refused here by design: HS256 tokens (unsupported_alg, or malformed where the
        // vector also tests base64: a JWKS holds no secrets, and HMAC keyed with a public key is the algorithm-
        // confusion attack); PS384 tokens that Wycheproof checks against a JWK whose "alg" is PS256 (tc 346,
        // 350: a key's alg pins it, alg_not_allowed); and the RFC 7520 P-521 key whose "alg" is the typo
        // "ES521" (tc 347, 351: the key validator drops a key with an unregistered alg).
        let hmac = Set(
            cases.filter {
                $0.valid
                    && (["hs256", "base64"].contains($0.group) || Self.headerAlg($0.token)?.hasPrefix("HS") == true)
            }.map(\.id))
        for id in hmac where refusedValid[id] != nil {
            #expect(["unsupported_alg", "malformed"].contains(refusedValid[id]), "tc \(id)")
        }
        let unexplained = refusedValid.filter { !hmac.contains($0.key) }
        #expect(unexplained.keys.sorted() == [346, 347, 350, 351], "\(unexplained)")
        #expect(unexplained[346] == "alg_not_allowed" && unexplained[350] == "alg_not_allowed")
        #expect(refusedValid.count == hmac.count + 4)
    }

    @Test("alg none and every HMAC token are unsupported_alg before any key is consulted")
    func noneAndHMAC() throws {
        for testCase in try Self.cases() where testCase.group == "hs256" || testCase.group == "base64" {
            guard case .failure(let failure) = Self.verify(testCase) else {
                Issue.record("tc \(testCase.id) verified")
                continue
            }
            #expect([.unsupportedAlg, .malformed].contains(failure.reason), "tc \(testCase.id): \(failure)")
        }
    }
}
