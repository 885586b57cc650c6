import Testing

@testable import JWKS

/// Keys built around real material: an RFC 7517 A.1 EC P-256 key and a 2048-bit modulus from the corpus.
@Suite("JWKValidator")
struct JWKValidatorTests {
    static let ecX = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"
    static let ecY = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
    static let ed25519X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

    /// A 2048-bit modulus taken from the Google JWKS in the corpus.
    static func modulus() throws -> String {
        let set = try JWKSet(parsing: try FixtureLoader.bytes("google-jwks-v3-2026-08-20.json"))
        let root = try JSONParser.parse(set.keys[0].json)
        return try #require(root[member: "n"]?.stringValue)
    }

    func validate(_ json: String) -> Result<JWK, DropReason> {
        let bytes = Array(json.utf8)
        guard let value = try? JSONParser.parse(bytes) else { return .failure(.malformed("test JSON")) }
        return JWKValidator().validate(value, in: bytes)
    }

    func reason(_ json: String) -> DropReason? {
        if case .failure(let reason) = validate(json) { return reason }
        return nil
    }

    @Test("a valid EC key is accepted with its facts")
    func validEC() throws {
        let key = try validate(
            #"{"kty":"EC","crv":"P-256","x":"\#(Self.ecX)","y":"\#(Self.ecY)","kid":"k","use":"sig","alg":"ES256"}"#
        ).get()
        #expect(key.curve == .p256)
        #expect(key.sizeInBits == 256)
        #expect(key.kid == "k")
    }

    @Test("each private member drops the key")
    func privateMembers() throws {
        let n = try Self.modulus()
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            let value = member == "oth" ? "[]" : "\"AQAB\""
            #expect(
                reason(#"{"kty":"RSA","n":"\#(n)","e":"AQAB","\#(member)":\#(value)}"#)
                    == .privateKeyMaterial(members: [member]))
        }
    }

    @Test("oct keys are symmetric even without k")
    func symmetric() {
        #expect(reason(#"{"kty":"oct","k":"AAAA"}"#) == .symmetricKey)
        #expect(reason(#"{"kty":"oct"}"#) == .symmetricKey)
    }

    @Test(
        "malformed and unsupported keys",
        arguments: [
            (#"[]"#, "malformed"),
            (#"{"kty":"EC","kty":"EC"}"#, "malformed"),
            (#"{"kty":5}"#, "malformed"),
            (#"{"kty":"AKP","alg":"ML-DSA-44","pub":"AAAA"}"#, "unsupported_kty"),
            (#"{"kty":"OKP","crv":"Ed448","x":"AAAA"}"#, "unsupported_curve"),
            (#"{"kty":"EC","crv":"P-192","x":"AAAA","y":"AAAA"}"#, "unsupported_curve"),
            (#"{"kty":"EC","crv":"Ed25519","x":"AAAA","y":"AAAA"}"#, "malformed"),
            (#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#, "malformed"),
            (
                #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"ES256"}"#,
                "alg_mismatch"
            ),
            (
                #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"enc"}"#,
                "use_mismatch"
            ),
            (
                #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","key_ops":["verify","verify"]}"#,
                "malformed"
            ),
            (#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":7}"#, "malformed"),
            (
                #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","x5c":"MII"}"#,
                "malformed"
            ),
            (
                #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"sig","key_ops":["encrypt"]}"#,
                "use_mismatch"
            ),
            (
                #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"ES256K"}"#,
                "unknown_alg"
            ),
            (
                #"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyQ"}"#,
                "malformed"
            ),
            (
                #"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","alg":"ES384"}"#,
                "alg_mismatch"
            ),
            (
                #"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","alg":"ES256"}"#,
                "malformed"
            ),
        ])
    func dropped(_ json: String, _ code: String) {
        #expect(reason(json)?.code == code, "\(json)")
    }

    @Test("RSA exponent, parity and size rules")
    func rsaRules() throws {
        let n = try Self.modulus()
        #expect(throws: Never.self) { try validate(#"{"kty":"RSA","n":"\#(n)","e":"AQAB","alg":"PS256"}"#).get() }
        #expect(reason(#"{"kty":"RSA","n":"\#(n)","e":"AQ"}"#)?.code == "malformed")
        #expect(reason(#"{"kty":"RSA","n":"\#(n)","e":"AQAA"}"#)?.code == "malformed")
        var even = Array(n)
        even[even.count - 1] = "A"
        #expect(reason(#"{"kty":"RSA","n":"\#(String(even))","e":"AQAB"}"#)?.code == "malformed")
        #expect(reason(#"{"kty":"RSA","n":"\#(n)","e":"AQAB","alg":"ES256"}"#)?.code == "alg_mismatch")
        let small = #"{"kty":"RSA","n":"\#(n.prefix(171))B","e":"AQAB"}"#
        #expect(reason(small)?.code == "weak_key")
    }

    @Test("the minimum RSA size is a policy")
    func minimumRSABits() throws {
        let bytes = try FixtureLoader.bytes("forgerock-jwks-2015-01.json")
        #expect(throws: JWKSError.self) { try JWKSet(parsing: bytes) }
        let relaxed = try JWKSet(parsing: bytes, options: JWKValidationOptions(minimumRSABits: 1024))
        #expect(relaxed.keys.first?.sizeInBits == 1024)
    }

    @Test("X25519 keys may encrypt but not sign")
    func x25519() {
        let key = #"{"kty":"OKP","crv":"X25519","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08""#
        #expect(reason(key + #","alg":"ECDH-ES"}"#) == nil)
        #expect(reason(key + #","use":"sig"}"#)?.code == "use_mismatch")
        #expect(reason(key + #","alg":"EdDSA"}"#)?.code == "alg_mismatch")
    }
}

@Suite("JWKSet documents")
struct JWKSetDocumentTests {
    func code(_ text: String) -> JWKSError.Code? {
        do {
            _ = try JWKSet(parsing: Array(text.utf8))
            return nil
        } catch {
            return error.code
        }
    }

    @Test("document-level failures are errors with a code")
    func documents() {
        #expect(code("{") == .invalidJSON)
        #expect(code("[]") == .notAJWKSet)
        #expect(code(#"{"keys":{}}"#) == .notAJWKSet)
        #expect(code(#"{"keys":[],"keys":[]}"#) == .notAJWKSet)
        #expect(code(#"{}"#) == .notAJWKSet)
        #expect(code(#"{"keys":[]}"#) == .noUsableKeys)
        #expect(code(#"{"keys":[1, "x", null]}"#) == .noUsableKeys)
    }

    @Test("the invalid-JSON message says where")
    func invalidJSONMessage() throws {
        #expect {
            _ = try JWKSet(parsing: Array("{\"keys\": [\n  {\"kty\": \"RSA\",}\n]}".utf8))
        } throws: { error in
            (error as? JWKSError)?.message
                == "not a JWK Set: invalid JSON at 2:17: expected a member name in double quotes"
        }
    }

    @Test("one bad key among good ones is dropped and reported, the rest served")
    func oneBadKey() throws {
        let set = try JWKSet(parsing: try FixtureLoader.bytes("edge-one-bad-key-missing-y.json"))
        #expect(set.keys.count == 3)
        #expect(
            set.dropped == [
                DroppedKey(
                    index: 2, kid: "this one shouldn't work 'cause there's no y", reason: .malformed("missing \"y\""))
            ])
    }
}
