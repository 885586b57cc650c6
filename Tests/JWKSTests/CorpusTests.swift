import Testing

@testable import JWKS

/// What parsing one corpus file must give.
enum CorpusExpectation: Sendable {
    /// A set with this many usable keys and these drop reason codes (by key index).
    case set(usable: Int, dropped: [Int: String] = [:])
    /// No set: the document-level error code.
    case error(JWKSError.Code)
}

let discovery = CorpusExpectation.error(.notAJWKSet)
let singleJWK = CorpusExpectation.error(.notAJWKSet)

/// Every file of `../shared/fixtures/jwks-corpus/` with what jwksd must make of it as a JWK Set.
/// Reasons come from SOURCES.md: 1024-bit RSA (Google 2014/2015, ForgeRock, MITREid) is below RFC 7518's
/// 2048 bits; Gluu's EC keys carry the bogus `"alg": "EC"`; RFC private and symmetric keys never pass.
let corpus: [String: CorpusExpectation] = [
    "apple-discovery-2025-06-11.json": discovery,
    "apple-discovery.json": discovery,
    "apple-jwks-2026-08-04.json": .set(usable: 6),
    "apple-jwks.json": .set(usable: 3),
    "auth0-discovery-dev-66191jdr-eu.json": discovery,
    "auth0-discovery-micronautguides-2019.json": discovery,
    "auth0-jwks-dev-66191jdr-eu.json": .set(usable: 1),
    "auth0-jwks-sandrino-dev-eu.json": .set(usable: 1),
    "auth0-jwks-x5cmultiple.json": .set(usable: 2),
    "aws-cognito-discovery-eu-west-1_BMkhxuZsn.json": discovery,
    "aws-cognito-discovery-eu-west-1_ZLiEFD4b6-2019.json": discovery,
    "aws-cognito-discovery-us-east-1_4OqDoWVrZ.json": discovery,
    "aws-cognito-jwks-eu-central-1_bS7gL2NH2.json": .set(usable: 2),
    "aws-cognito-jwks-mysa-us-east-1_GUFWfhI7g.json": .set(usable: 2),
    "aws-cognito-jwks-salmoncow-us-east-1_vM9ZeVvX6.json": .set(usable: 2),
    "aws-cognito-jwks-us-east-1_vunkelSrL.json": .set(usable: 2),
    "chainguard-enforce-discovery-2026-04-02.json": discovery,
    "chainguard-enforce-jwks-2026-08-22.json": .set(usable: 3),
    "dex-discovery-mydex-example.json": discovery,
    "draft-ietf-cose-dilithium-ml-dsa-44-jose-example.json": .error(.notAJWKSet),
    "draft-ietf-cose-dilithium-ml-dsa-65-jose-example.json": .error(.notAJWKSet),
    "draft-ietf-cose-dilithium-ml-dsa-87-jose-example.json": .error(.notAJWKSet),
    "edge-broken-no-kty-openidconnect-info-2015-01.json": .error(.noUsableKeys),
    "edge-duplicate-kids-pingfederate-modified.json": .set(usable: 12),
    "edge-empty-keys-array.json": .error(.noUsableKeys),
    "edge-github-actions-jwks-error-unavailable-2023-10-30.json": .error(.notAJWKSet),
    "edge-no-kids-pingfederate-derived.json": .set(usable: 4),
    "edge-not-jwks-google-x509-pem-map-v1-2026-08-20.json": .error(.notAJWKSet),
    "edge-okp-ed448-public-jwk.json": singleJWK,
    "edge-one-bad-key-missing-y.json": .set(usable: 3, dropped: [2: "malformed"]),
    "facebook-discovery.json": discovery,
    "facebook-jwks.json": .set(usable: 2),
    "firebase-discovery.json": discovery,
    "firebase-jwks.json": .set(usable: 2),
    "forgerock-jwks-2015-01.json": .error(.noUsableKeys),
    "github-actions-discovery-2025-11-10.json": discovery,
    "github-actions-discovery.json": discovery,
    "github-actions-jwks-2025-09-11.json": .set(usable: 4),
    "github-actions-jwks.json": .set(usable: 2),
    "gitlab-discovery-2026-05-29.json": discovery,
    "gitlab-discovery.json": discovery,
    "gitlab-jwks-2025-02-25.json": .set(usable: 3),
    "gitlab-jwks.json": .set(usable: 2),
    "gluu-jwks-2015-01.json": .set(usable: 3, dropped: [3: "unknown_alg", 4: "unknown_alg", 5: "unknown_alg"]),
    "google-discovery-2026-03-17.json": discovery,
    "google-discovery-alerta.json": discovery,
    "google-discovery.json": discovery,
    "google-jwks-v2-2026-08-20.json": .set(usable: 4),
    "google-jwks-v2certs-2014-08.json": .error(.noUsableKeys),
    "google-jwks-v2certs-2015-01.json": .error(.noUsableKeys),
    "google-jwks-v3-2023-04-micronaut.json": .set(usable: 2),
    "google-jwks-v3-2026-08-12.json": .set(usable: 4),
    "google-jwks-v3-2026-08-19.json": .set(usable: 5),
    "google-jwks-v3-2026-08-20.json": .set(usable: 4),
    "google-jwks-v3-alerta.json": .set(usable: 2),
    "google-jwks-v3-single-key-2025-04-23.json": .set(usable: 1),
    "google-jwks.json": .set(usable: 2),
    "keycloak-discovery-realm-master-alerta.json": discovery,
    "keycloak-jwks-realm-master-alerta.json": .set(usable: 1),
    "keycloak-jwks-realm-projet-secu.json": .set(usable: 2),
    "keycloak-jwks-sig-enc-nvidia.json": .set(usable: 2),
    "kubernetes-sa-issuer-discovery-test.json": discovery,
    "kubernetes-sa-issuer-jwks-test.json": .set(usable: 2),
    "line-discovery.json": discovery,
    "line-jwks.json": .set(usable: 20),
    "microsoft-azure-v1-discovery-tenant-f24341ef.json": discovery,
    "microsoft-azure-v1-jwks-common-discovery-keys.json": .set(usable: 3),
    "microsoft-azure-v2-discovery-common.json": discovery,
    "microsoft-azure-v2-jwks-common-discovery-v2-keys.json": .set(usable: 6),
    "microsoft-common-v1-discovery-2025-10-07.json": discovery,
    "microsoft-common-v1-jwks-11keys-2024-07-10.json": .set(usable: 11),
    "microsoft-common-v1-jwks-2026-08-16.json": .set(usable: 6),
    "microsoft-discovery.json": discovery,
    "microsoft-jwks-2015-01.json": .set(usable: 2),
    "microsoft-jwks.json": .set(usable: 9),
    "mitreid-jwks-2015-01.json": .error(.noUsableKeys),
    "nikkei-discovery.json": discovery,
    "nikkei-jwks.json": .set(usable: 2),
    "nov-connect-op-jwks-nokid-2015-01.json": .set(usable: 1),
    "nri-openid4us-jwks-2015-01.json": .set(usable: 1),
    "nvidia-kas-jwks-libtrust-kid.json": .set(usable: 1),
    "nvidia-ssa-jwks-ec.json": .set(usable: 1),
    "okta-discovery-dev-490527-oauth2-default.json": discovery,
    "okta-discovery-oauth2-default-2019.json": discovery,
    "okta-discovery.json": discovery,
    "okta-jwks-dev-490527-oauth2-default.json": .set(usable: 1),
    "okta-jwks.json": .set(usable: 2),
    "paypal-discovery.json": discovery,
    "paypal-jwks.json": .set(usable: 9),
    "pingfederate-jwks-2015-b.json": .set(usable: 8),
    "pingfederate-jwks-2015.json": .set(usable: 12),
    "recruit-discovery.json": discovery,
    "recruit-jwks.json": .set(usable: 3),
    "rfc7517-a1-public-keys.json": .set(usable: 2),
    "rfc7517-a2-private-keys.json": .error(.noUsableKeys),
    "rfc7517-a3-symmetric-keys.json": .error(.noUsableKeys),
    "rfc7517-b-x5c.json": singleJWK,
    "rfc7517-c1-rsa-private-key.json": singleJWK,
    "rfc7520-3.1-ec-public-key.json": singleJWK,
    "rfc7520-3.2-ec-private-key.json": singleJWK,
    "rfc7520-3.3-rsa-public-key.json": singleJWK,
    "rfc7520-3.4-rsa-private-key.json": singleJWK,
    "rfc7520-3.5-symmetric-key-mac-computation.json": singleJWK,
    "rfc7520-3.6-symmetric-key-encryption.json": singleJWK,
    "rfc8037-a1-ed25519-private.json": singleJWK,
    "rfc8037-a2-ed25519-public.json": singleJWK,
    "rfc8037-a6-x25519-public.json": singleJWK,
    "rfc8037-a7-x448-public.json": singleJWK,
    "salesforce-jwks-2014-08.json": .set(usable: 3),
    "salesforce-jwks-2015-01.json": .set(usable: 4),
    "slack-discovery.json": discovery,
    "slack-jwks.json": .set(usable: 1),
    "terraform-cloud-discovery-2023-06-06.json": discovery,
    "terraform-cloud-jwks-2026-08-04.json": .set(usable: 1),
    "thinktecture-jwks-2015-01.json": .set(usable: 1),
    "wycheproof-json_web_crypto_test.json": .error(.notAJWKSet),
    "wycheproof-json_web_encryption_test.json": .error(.notAJWKSet),
    "wycheproof-json_web_key_test.json": .error(.notAJWKSet),
    "wycheproof-json_web_signature_test.json": .error(.notAJWKSet),
    "yahoo-discovery.json": discovery,
    "yahoo-jwks.json": .set(usable: 2),
]

/// Drop reasons of whole-set failures, by file: every key of the set and why.
let failedSetReasons: [String: [String]] = [
    "edge-broken-no-kty-openidconnect-info-2015-01.json": ["malformed"],
    "forgerock-jwks-2015-01.json": ["weak_key"],
    "google-jwks-v2certs-2014-08.json": ["weak_key", "weak_key"],
    "google-jwks-v2certs-2015-01.json": ["weak_key", "weak_key"],
    "mitreid-jwks-2015-01.json": ["weak_key"],
    "rfc7517-a2-private-keys.json": ["private_key_material", "private_key_material"],
    "rfc7517-a3-symmetric-keys.json": ["symmetric_key", "symmetric_key"],
]

@Suite("JWKS corpus")
struct CorpusTests {
    @Test("every corpus file has an expectation")
    func everyFileIsCovered() throws {
        let files = Set(try FixtureLoader.allJSONFiles())
        #expect(files == Set(corpus.keys))
        #expect(files.count == 121)
    }

    @Test("usable and dropped keys per corpus file", arguments: corpus.keys.sorted())
    func corpusFile(_ name: String) throws {
        let bytes = try FixtureLoader.bytes(name)
        switch corpus[name]! {
        case .set(let usable, let dropped):
            let set = try JWKSet(parsing: bytes)
            #expect(set.keys.count == usable)
            #expect(Dictionary(uniqueKeysWithValues: set.dropped.map { ($0.index, $0.reason.code) }) == dropped)
            #expect(set.document == bytes)
        case .error(let code):
            #expect {
                _ = try JWKSet(parsing: bytes)
            } throws: { error in
                guard let error = error as? JWKSError, error.code == code else { return false }
                return error.dropped.map(\.reason.code) == (failedSetReasons[name] ?? [])
            }
        }
    }

    @Test("each usable key keeps its original JSON byte for byte")
    func originalBytesArePreserved() throws {
        for name in corpus.keys.sorted() {
            guard case .set = corpus[name]! else { continue }
            let bytes = try FixtureLoader.bytes(name)
            let set = try JWKSet(parsing: bytes)
            for key in set.keys {
                #expect(key.json.first == UInt8(ascii: "{") && key.json.last == UInt8(ascii: "}"))
                #expect(bytes.firstRange(of: key.json) != nil, "\(name): key \(key.kid ?? "-") not a slice")
                let reparsed = try JSONParser.parse(key.json)
                #expect(reparsed[member: "kid"]?.stringValue == key.kid)
            }
        }
    }

    @Test("escaped slashes in Gluu's x5c survive untouched")
    func escapesArePreserved() throws {
        let set = try JWKSet(parsing: try FixtureLoader.bytes("gluu-jwks-2015-01.json"))
        let first = String(decoding: set.keys[0].json, as: UTF8.self)
        #expect(first.contains("\\/"))
    }

    @Test("duplicate kids are kept and alg narrows the lookup")
    func duplicateKids() throws {
        let set = try JWKSet(parsing: try FixtureLoader.bytes("edge-duplicate-kids-pingfederate-modified.json"))
        let all = set.keys(kid: "1")
        #expect(all.count == 4)
        #expect(Set(all.compactMap(\.curve)) == [.p256, .p384, .p521])
        #expect(set.keys(kid: "1", alg: "ES384").map(\.curve) == [.p384])
        #expect(set.keys(kid: "1", alg: "RS256").map(\.keyType) == [.rsa])
        #expect(set.keys(kid: "1", alg: "EdDSA").isEmpty)
        #expect(set.keys(kid: "nope").isEmpty)
        #expect(set.kids == ["3", "2", "1"])
    }

    @Test("keys without kid are usable but not found by kid")
    func keysWithoutKid() throws {
        let set = try JWKSet(parsing: try FixtureLoader.bytes("edge-no-kids-pingfederate-derived.json"))
        #expect(set.keys.count == 4)
        #expect(set.kids.isEmpty)
    }

    @Test("a key's own alg wins over the algorithms its type allows")
    func declaredAlgorithm() throws {
        let set = try JWKSet(parsing: try FixtureLoader.bytes("keycloak-jwks-sig-enc-nvidia.json"))
        let signing = set.keys.first { $0.use == "sig" }!
        let encryption = set.keys.first { $0.use == "enc" }!
        #expect(signing.accepts(alg: "RS256"))
        #expect(!signing.accepts(alg: "PS256"))
        #expect(encryption.accepts(alg: "RSA-OAEP"))
        #expect(!encryption.accepts(alg: "RS256"))
    }

    @Test("single JWK files validate as one key each")
    func singleKeys() throws {
        let expected: [String: String?] = [
            "rfc7517-b-x5c.json": nil,
            "rfc7520-3.1-ec-public-key.json": nil,
            "rfc7520-3.3-rsa-public-key.json": nil,
            "rfc8037-a2-ed25519-public.json": nil,
            "rfc8037-a6-x25519-public.json": nil,
            "rfc7517-c1-rsa-private-key.json": "private_key_material",
            "rfc7520-3.2-ec-private-key.json": "private_key_material",
            "rfc7520-3.4-rsa-private-key.json": "private_key_material",
            "rfc8037-a1-ed25519-private.json": "private_key_material",
            "rfc7520-3.5-symmetric-key-mac-computation.json": "symmetric_key",
            "rfc7520-3.6-symmetric-key-encryption.json": "symmetric_key",
            "rfc8037-a7-x448-public.json": "unsupported_curve",
            "edge-okp-ed448-public-jwk.json": "unsupported_curve",
        ]
        let validator = JWKValidator()
        for (name, code) in expected {
            let bytes = try FixtureLoader.bytes(name)
            let result = validator.validate(try JSONParser.parse(bytes), in: bytes)
            switch result {
            case .success(let key):
                #expect(code == nil, "\(name) should be dropped")
                #expect(key.json == bytes.trimmingTrailingWhitespace())
            case .failure(let reason):
                #expect(reason.code == code, "\(name): \(reason)")
            }
        }
    }

    @Test("ML-DSA (AKP) keys: private material first, then an unsupported kty without it")
    func akpKeys() throws {
        for name in [
            "draft-ietf-cose-dilithium-ml-dsa-44-jose-example.json",
            "draft-ietf-cose-dilithium-ml-dsa-65-jose-example.json",
            "draft-ietf-cose-dilithium-ml-dsa-87-jose-example.json",
        ] {
            let bytes = try FixtureLoader.bytes(name)
            let jwk = try #require(try JSONParser.parse(bytes)[member: "jwk"])
            #expect(JWKValidator().validate(jwk, in: bytes) == .failure(.privateKeyMaterial(members: ["priv"])))
            let publicOnly = try #require(jwk.objectMembers).filter { $0.name != "priv" }
            let text =
                "{"
                + publicOnly.map { "\"\($0.name)\":" + String(decoding: bytes[$0.value.range], as: UTF8.self) }
                .joined(separator: ",") + "}"
            let set = Array(
                "{\"keys\":[\(text),{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}"
                    .utf8)
            let parsed = try JWKSet(parsing: set)
            #expect(parsed.keys.count == 1)
            #expect(parsed.dropped.map(\.reason) == [.unsupportedKeyType("AKP")])
        }
    }
}

extension [UInt8] {
    func trimmingTrailingWhitespace() -> [UInt8] {
        var copy = self
        while let last = copy.last, [0x20, 0x0A, 0x0D, 0x09].contains(last) { copy.removeLast() }
        return copy
    }
}
