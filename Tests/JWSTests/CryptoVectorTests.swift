import Foundation
import JWKS
import Testing

@testable import JWS

/// Wycheproof's signature vectors for the primitives under ES256 (P1363 r‖s), PS256 (PSS, salt 32) and EdDSA
/// (Ed25519), each key prepared from the group's JWK. "acceptable" cases are not asserted.
@Suite("Wycheproof ECDSA P1363, RSA-PSS and Ed25519 vectors")
struct CryptoVectorTests {
    struct Tally {
        var checked = 0
        var wrong: [String] = []
    }

    /// The group's key as a JWK: its `publicKeyJwk`, or (for the P-256 groups that give only coordinates) one
    /// made from `wx` and `wy`.
    static func jwk(of group: [String: Any]) -> JWK? {
        if let given = group["publicKeyJwk"] as? [String: Any] { return JWSFixture.jwk(given) }
        guard let key = group["publicKey"] as? [String: Any], let wx = key["wx"] as? String,
            let wy = key["wy"] as? String
        else { return nil }
        func coordinate(_ hex: String) -> String {
            var bytes = JWSFixture.hex(hex)
            while bytes.count > 32, bytes.first == 0 { bytes.removeFirst() }
            return Base64URL.encode([UInt8](repeating: 0, count: max(0, 32 - bytes.count)) + bytes)
        }
        return JWSFixture.jwk(["kty": "EC", "crv": "P-256", "x": coordinate(wx), "y": coordinate(wy)])
    }

    static func run(_ file: String, algorithm: JWSAlgorithm) throws -> Tally {
        let document = try #require(try JWSFixture.json(file) as? [String: Any])
        var tally = Tally()
        for group in try #require(document["testGroups"] as? [[String: Any]]) {
            let jwk = try #require(Self.jwk(of: group), "\(file)")
            let key = try #require(VerificationKey(jwk), "\(file): key not usable")
            for test in try #require(group["tests"] as? [[String: Any]]) {
                let result = test["result"] as! String
                guard result != "acceptable" else { continue }
                let message = JWSFixture.hex(test["msg"] as! String)
                let signature = JWSFixture.hex(test["sig"] as! String)
                let verified = key.isValidSignature(signature, for: message[...], algorithm: algorithm)
                tally.checked += 1
                if verified != (result == "valid") { tally.wrong.append("tc \(test["tcId"]!): \(test["comment"]!)") }
            }
        }
        return tally
    }

    @Test("ECDSA P-256 with r‖s signatures (ES256)")
    func ecdsa() throws {
        let tally = try Self.run("wycheproof-ecdsa_secp256r1_sha256_p1363_test.json", algorithm: .es256)
        #expect(tally.checked == 262)
        #expect(tally.wrong.isEmpty, "\(tally.wrong)")
    }

    @Test("RSA-PSS 2048, SHA-256, MGF1, 32-byte salt (PS256)")
    func pss() throws {
        let tally = try Self.run("wycheproof-rsa_pss_2048_sha256_mgf1_32_test.json", algorithm: .ps256)
        #expect(tally.checked == 108)
        #expect(tally.wrong.isEmpty, "\(tally.wrong)")
    }

    @Test("Ed25519 (EdDSA)")
    func ed25519() throws {
        let tally = try Self.run("wycheproof-ed25519_test.json", algorithm: .edDSA)
        #expect(tally.checked == 151)
        #expect(tally.wrong.isEmpty, "\(tally.wrong)")
    }

    @Test("RFC 7520 §4 and RFC 8037 compact examples verify; header and payload come back byte for byte")
    func cookbook() throws {
        for file in [
            "rfc7520-cookbook/jws/4_1.rsa_v15_signature.json", "rfc7520-cookbook/jws/4_2.rsa-pss_signature.json",
            "rfc7520-cookbook/jws/4_3.ecdsa_signature.json", "rfc7520-cookbook/curve25519/jws.json",
        ] {
            let example = try #require(try JWSFixture.json(file) as? [String: Any])
            let input = try #require(example["input"] as? [String: Any])
            let compact = try #require((example["output"] as? [String: Any])?["compact"] as? String)
            let jwk = try #require((input["key"] as? [String: Any]).flatMap(JWSFixture.jwk), "\(file)")
            let key = try #require(VerificationKey(jwk), "\(file)")
            let jws = try CompactJWS(compact)
            try key.verify(jws)
            #expect(jws.payload == Array((input["payload"] as! String).utf8), "\(file)")
            let headerPart = String(compact.split(separator: ".")[0])
            #expect(jws.header == (try Base64URL.decode(headerPart)), "\(file)")
            #expect(jws.algorithm.rawValue == input["alg"] as? String)
        }
    }
}
