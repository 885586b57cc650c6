import Crypto
import Foundation
import JWKS
import Testing

@testable import JWS

/// Key choice and the claims rules, on ES256 tokens minted here.
@Suite("Token verification: key choice and claims")
struct TokenVerifierTests {
    static let now: Double = 1_800_000_000
    static let first = P256.Signing.PrivateKey()
    static let second = P256.Signing.PrivateKey()

    static func key(_ privateKey: P256.Signing.PrivateKey, kid: String?) -> VerificationKey {
        let point = Array(privateKey.publicKey.x963Representation)
        var object: [String: Any] = [
            "kty": "EC", "crv": "P-256", "x": Base64URL.encode(point[1...32]), "y": Base64URL.encode(point[33...64]),
        ]
        object["kid"] = kid
        return VerificationKey(JWSFixture.jwk(object)!)!
    }

    static func token(
        _ claims: String, header: String = #"{"alg":"ES256","kid":"a"}"#, signer: P256.Signing.PrivateKey = first
    ) -> [UInt8] {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let signature = try! signer.signature(for: Array(input.utf8))
        return Array((input + "." + Base64URL.encode(Array(signature.rawRepresentation))).utf8)
    }

    static let keys = [key(first, kid: "a"), key(second, kid: "b")]
    static let policy = ClaimsPolicy(issuer: "https://idp.example.com", audiences: .oneOf(["api"]))
    static let good = #"{"iss":"https://idp.example.com","aud":"api","exp":1800000100,"nbf":1799999900,"sub":"u"}"#

    static func reason(
        _ claims: String, header: String = #"{"alg":"ES256","kid":"a"}"#, policy: ClaimsPolicy = policy,
        keys: [VerificationKey] = keys, signer: P256.Signing.PrivateKey = first, at time: Double = now
    ) -> JWSFailure.Reason? {
        do throws(JWSFailure) {
            _ = try TokenVerifier.verify(
                token(claims, header: header, signer: signer), keys: keys, policy: policy, now: time)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("a good token verifies; header and claims come back byte for byte with its kid and alg")
    func good() throws {
        let verified = try TokenVerifier.verify(
            Self.token(Self.good), keys: Self.keys, policy: Self.policy, now: Self.now)
        #expect(verified.kid == "a" && verified.algorithm == .es256)
        #expect(verified.claims == Array(Self.good.utf8))
        #expect(verified.header == Array(#"{"alg":"ES256","kid":"a"}"#.utf8))
    }

    @Test("the key is chosen by kid, or with none by being the only one for the alg")
    func keyChoice() {
        #expect(Self.reason(Self.good, header: #"{"alg":"ES256","kid":"zzz"}"#) == .unknownKid)
        // kid b names the second key; a token signed by the first under kid b does not verify.
        #expect(Self.reason(Self.good, header: #"{"alg":"ES256","kid":"b"}"#) == .badSignature)
        #expect(Self.reason(Self.good, header: #"{"alg":"ES256","kid":"b"}"#, signer: Self.second) == nil)
        // No kid: two P-256 keys take ES256, so none is chosen; with one, it is.
        #expect(Self.reason(Self.good, header: #"{"alg":"ES256"}"#) == .unknownKid)
        #expect(Self.reason(Self.good, header: #"{"alg":"ES256"}"#, keys: [Self.key(Self.first, kid: nil)]) == nil)
        #expect(Self.reason(Self.good, header: #"{"alg":"ES256"}"#, keys: []) == .unknownKid)
        // Duplicate kids: the first in document order.
        let duplicate = [Self.key(Self.first, kid: "a"), Self.key(Self.second, kid: "a")]
        #expect(Self.reason(Self.good, keys: duplicate) == nil)
        #expect(Self.reason(Self.good, keys: duplicate, signer: Self.second) == .badSignature)
    }

    @Test(
        "claims rules",
        arguments: [
            (#"{"iss":"https://idp.example.com","aud":"api","exp":1799999940}"#, JWSFailure.Reason?.some(.expired)),
            (#"{"iss":"https://idp.example.com","aud":"api","exp":1799999941}"#, nil),  // within the 60 s leeway
            (#"{"iss":"https://idp.example.com","aud":"api","exp":1800000100,"nbf":1800000061}"#, .notYetValid),
            (#"{"iss":"https://idp.example.com","aud":"api","exp":1800000100,"nbf":1800000060}"#, nil),
            (#"{"iss":"https://idp.example.com","aud":"api"}"#, .missingClaim),
            (#"{"iss":"https://other.example.com","aud":"api","exp":1800000100}"#, .badIssuer),
            (#"{"aud":"api","exp":1800000100}"#, .badIssuer),
            (#"{"iss":"https://idp.example.com","aud":"web","exp":1800000100}"#, .badAudience),
            (#"{"iss":"https://idp.example.com","aud":["web","api"],"exp":1800000100}"#, nil),
            (#"{"iss":"https://idp.example.com","exp":1800000100}"#, .badAudience),
            (#"{"iss":"https://idp.example.com","aud":["api",1],"exp":1800000100}"#, .malformed),
            (#"{"iss":"https://idp.example.com","aud":"api","exp":"1800000100"}"#, .malformed),
            (#"{"iss":"https://idp.example.com","aud":"api","exp":1800000100.5}"#, nil),
            (#"{"iss":"https://idp.example.com","aud":"api","exp":1800000100,"exp":1}"#, .malformed),
            (#"["iss"]"#, .malformed),
            (#"not json"#, .malformed),
        ])
    func claims(payload: String, expected: JWSFailure.Reason?) {
        #expect(Self.reason(payload) == expected, "\(payload)")
    }

    @Test("a repeated claim name is malformed in a small claims set (pairwise check) and a large one (set)")
    func repeatedNames() {
        let base = #""iss":"https://idp.example.com","aud":"api","exp":1800000100"#
        for extra in [2, 30] {
            let members = (0..<extra).map { #""c\#($0)":\#($0)"# }.joined(separator: ",")
            #expect(Self.reason("{\(base),\(members)}") == nil, "\(extra) extra claims")
            #expect(Self.reason("{\(base),\(members),\"c1\":7}") == .malformed, "\(extra) extra claims, c1 twice")
        }
    }

    @Test("time is compared to the fraction of a second: a fractional exp passes exactly when it says")
    func fractionalTime() {
        var strict = Self.policy
        strict.leewaySeconds = 0
        let claims = #"{"iss":"https://idp.example.com","aud":"api","exp":1800000100.5}"#
        #expect(Self.reason(claims, policy: strict, at: 1_800_000_100.4) == nil)
        #expect(Self.reason(claims, policy: strict, at: 1_800_000_100.6) == .expired)
        let early = #"{"iss":"https://idp.example.com","aud":"api","exp":1800000200,"nbf":1800000100.5}"#
        #expect(Self.reason(early, policy: strict, at: 1_800_000_100.4) == .notYetValid)
        #expect(Self.reason(early, policy: strict, at: 1_800_000_100.5) == nil)
    }

    @Test("audiences any, required claims, typ and the algorithm allowlist")
    func policyOptions() {
        var open = Self.policy
        open.audiences = .any
        #expect(Self.reason(#"{"iss":"https://idp.example.com","exp":1800000100}"#, policy: open) == nil)
        var required = Self.policy
        required.requiredClaims = ["exp", "sub"]
        #expect(
            Self.reason(#"{"iss":"https://idp.example.com","aud":"api","exp":1800000100}"#, policy: required)
                == .missingClaim)
        #expect(Self.reason(Self.good, policy: required) == nil)
        var typed = Self.policy
        typed.types = ["at+jwt"]
        #expect(Self.reason(Self.good, policy: typed) == .badType)
        #expect(
            Self.reason(Self.good, header: #"{"alg":"ES256","kid":"a","typ":"application/AT+JWT"}"#, policy: typed)
                == nil)
        #expect(Self.reason(Self.good, header: #"{"alg":"ES256","kid":"a","typ":"JWT"}"#, policy: typed) == .badType)
        var pinned = Self.policy
        pinned.algorithms = [.rs256]
        #expect(Self.reason(Self.good, policy: pinned) == .algNotAllowed)
    }

    @Test("the signature is checked before the claims: a forged token with expired claims is bad_signature")
    func signatureFirst() {
        #expect(Self.reason(#"{"exp":1}"#, signer: Self.second) == .badSignature)
    }
}
