import Crypto
import CryptoExtras
import Foundation
import JWKS
import Testing

@testable import JWS

/// The rules jwksd adds to signature checking: what a header may say, which key takes which alg, and the
/// encodings refused. Tokens are minted here with swift-crypto.
@Suite("JWS header and key rules")
struct JWSRulesTests {
    static let p256 = P256.Signing.PrivateKey()

    /// A JWK for `p256`'s public key, with extra members.
    static func p256JWK(_ extra: String = "") -> JWK {
        let point = Array(p256.publicKey.x963Representation)
        let x = Base64URL.encode(point[1...32])
        let y = Base64URL.encode(point[33...64])
        let json = #"{"kty":"EC","crv":"P-256","kid":"k1","x":"\#(x)","y":"\#(y)"\#(extra)}"#
        return JWSFixture.jwk(try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any])!
    }

    /// A token with this header and payload, signed ES256 with `p256` (r‖s, or DER when asked).
    static func es256(header: String, payload: String = #"{"sub":"a"}"#, der: Bool = false) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let signature = try! p256.signature(for: Array(input.utf8))
        return input + "."
            + Base64URL.encode(der ? Array(signature.derRepresentation) : Array(signature.rawRepresentation))
    }

    static func failure(_ token: String, key: JWK = p256JWK()) -> JWSFailure? {
        do throws(JWSFailure) {
            let jws = try CompactJWS(token)
            guard let prepared = VerificationKey(key) else { return JWSFailure(.unknownKid, "unusable key") }
            try prepared.verify(jws)
            return nil
        } catch {
            return error
        }
    }

    @Test("a well-formed ES256 token verifies; its kid, typ, header and payload are read")
    func valid() throws {
        let header = #"{"alg":"ES256","kid":"k1","typ":"JWT"}"#
        let jws = try CompactJWS(Self.es256(header: header))
        #expect(jws.kid == "k1" && jws.type == "JWT" && jws.algorithm == .es256)
        #expect(jws.header == Array(header.utf8))
        #expect(jws.payload == Array(#"{"sub":"a"}"#.utf8))
        #expect(Self.failure(Self.es256(header: header)) == nil)
    }

    @Test(
        "header and shape rules",
        arguments: [
            (#"{"alg":"none"}"#, JWSFailure.Reason.unsupportedAlg),
            (#"{"alg":"HS256"}"#, .unsupportedAlg),
            (#"{"alg":"ES256K"}"#, .unsupportedAlg),
            (#"{"alg":"es256"}"#, .unsupportedAlg),
            (#"{"kid":"k1"}"#, .malformed),
            (#"{"alg":256}"#, .malformed),
            (#"{"alg":"ES256","alg":"ES256"}"#, .malformed),
            (#"{"alg":"ES256","kid":7}"#, .malformed),
            (#"{"alg":"ES256","crit":["exp"],"exp":1}"#, .critUnsupported),
            (#"{"alg":"ES256","crit":[]}"#, .malformed),
            (#"{"alg":"ES256","b64":false,"crit":["b64"]}"#, .critUnsupported),
            (#"{"alg":"ES256","b64":false}"#, .malformed),
            (#"["alg","ES256"]"#, .malformed),
            (#"{"alg":"ES256""#, .malformed),
        ])
    func headerRules(header: String, reason: JWSFailure.Reason) {
        #expect(Self.failure(Self.es256(header: header))?.reason == reason, "\(header)")
    }

    @Test("encodings: padding, the standard alphabet, extra parts, DER signatures and oversize tokens are refused")
    func encodings() {
        let token = Self.es256(header: #"{"alg":"ES256"}"#)
        let parts = token.split(separator: ".").map(String.init)
        #expect(Self.failure(parts[0] + "=." + parts[1] + "." + parts[2])?.reason == .malformed)
        #expect(Self.failure(token + ".")?.reason == .malformed)
        #expect(Self.failure(parts[0] + "." + parts[1])?.reason == .malformed)
        #expect(Self.failure(parts[0] + "." + parts[1] + "." + parts[2] + "+")?.reason == .malformed)
        #expect(Self.failure(" " + token)?.reason == .malformed)
        #expect(Self.failure(Self.es256(header: #"{"alg":"ES256"}"#, der: true))?.reason == .badSignature)
        // The same header re-encoded with a trailing space: a different signing input, so the signature fails.
        let other = Base64URL.encode(Array(#"{"alg":"ES256"} "#.utf8))
        #expect(Self.failure(other + "." + parts[1] + "." + parts[2])?.reason == .badSignature)
        let long = Self.es256(header: #"{"alg":"ES256"}"#, payload: String(repeating: "a", count: 20_000))
        #expect(Self.failure(long)?.reason == .malformed)
        #expect((try? CompactJWS(long, maximumBytes: 40_000)) != nil)
    }

    @Test("a key's alg pins it; without one its type and curve decide; encryption keys never verify")
    func keyRules() throws {
        let token = Self.es256(header: #"{"alg":"ES256"}"#)
        #expect(Self.failure(token, key: Self.p256JWK(#","alg":"ES256""#)) == nil)
        #expect(VerificationKey(Self.p256JWK())?.algorithms == [.es256])
        #expect(VerificationKey(Self.p256JWK(#","use":"enc""#)) == nil)
        #expect(VerificationKey(Self.p256JWK(#","key_ops":["verify"]"#)) != nil)
        // A P-256 key never takes ES384, whatever the token claims.
        let es384 = Self.es256(header: #"{"alg":"ES384"}"#)
        #expect(Self.failure(es384)?.reason == .algNotAllowed)
        // An RSA key pinned to RS256 refuses a PS256 token (algorithm confusion between RSA paddings).
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let primitives = try rsa.publicKey.getKeyPrimitives()
        let n = Base64URL.encode(primitives.modulus)
        let e = Base64URL.encode(primitives.publicExponent)
        let jwkJSON = #"{"kty":"RSA","alg":"RS256","n":"\#(n)","e":"\#(e)"}"#
        let pinned = try #require(
            JWSFixture.jwk(JSONSerialization.jsonObject(with: Data(jwkJSON.utf8)) as! [String: Any]))
        let input = Base64URL.encode(Array(#"{"alg":"PS256"}"#.utf8)) + "." + Base64URL.encode(Array("{}".utf8))
        let pss = try rsa.signature(for: SHA256.hash(data: Array(input.utf8)), padding: .PSS)
        let token256 = input + "." + Base64URL.encode(Array(pss.rawRepresentation))
        #expect(Self.failure(token256, key: pinned)?.reason == .algNotAllowed)
        let unpinnedJSON = #"{"kty":"RSA","n":"\#(n)","e":"\#(e)"}"#
        let unpinned = try #require(
            JWSFixture.jwk(JSONSerialization.jsonObject(with: Data(unpinnedJSON.utf8)) as! [String: Any]))
        #expect(Self.failure(token256, key: unpinned) == nil)
    }
}
