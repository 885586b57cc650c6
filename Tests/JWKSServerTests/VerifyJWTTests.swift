import Crypto
import Foundation
import JWKS
import JWKSCache
import JWKSTestSupport
import JWKSWire
import NIOCore
import SwiftProtobuf
import Testing

@testable import JWKSServer

/// VerifyJWT through the connection handler: the provider's published verification keys and `verify:` rules,
/// the choice by `iss`, the kid-miss rule, the peer ACL and the statuses.
@Suite("VerifyJWT")
struct VerifyJWTTests {
    /// A P-256 key pair with its JWKS file.
    struct Signer {
        let key = P256.Signing.PrivateKey()
        let kid: String

        var jwks: [UInt8] {
            let point = Array(key.publicKey.x963Representation)
            let x = Base64URL.encode(point[1...32])
            let y = Base64URL.encode(point[33...64])
            return Array(#"{"keys":[{"kty":"EC","crv":"P-256","kid":"\#(kid)","x":"\#(x)","y":"\#(y)"}]}"#.utf8)
        }

        func token(_ claims: String, header: String? = nil) -> String {
            let protected = header ?? #"{"alg":"ES256","kid":"\#(kid)","typ":"JWT"}"#
            let input = Base64URL.encode(Array(protected.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
            let signature = try! key.signature(for: Array(input.utf8))
            return input + "." + Base64URL.encode(Array(signature.rawRepresentation))
        }
    }

    static var inAnHour: Int { Int(Date().timeIntervalSince1970) + 3_600 }

    /// Tenant acme: `idp` (issuer https://idp.example.com, audience api) and `other` (issuer
    /// https://other.example.com, no audiences configured), both key files; tenant locked is for uid 4242 only.
    static func setUp(_ idp: Signer, _ other: Signer) async throws -> (RequestDispatcher, URL) {
        try await ConnectionHandlerTests.dispatcher(
            server: "max_calls_per_connection: 8",
            tenants: """
                acme: { providers: { idp: { file: idp.json, kid_miss_cooldown: 1s, verify: { issuer: "https://idp.example.com", audiences: [api] } }, other: { file: other.json, verify: { issuer: "https://other.example.com" } } } }
                locked: { allowed_uids: [4242], providers: { idp: { file: idp.json, verify: { audiences: any } } } }
                """, transport: NoNetwork(), files: ["idp.json": idp.jwks, "other.json": other.jwks])
    }

    static func call(
        _ connection: TestingConnection, tenant: String = "acme", provider: String = "", token: String,
        audiences: [String] = [], id: UInt32 = 1
    ) async throws -> Frame {
        var request = Jwksd_V1_VerifyJWTRequest()
        request.tenant = tenant
        request.provider = provider
        request.token = token
        request.audiences = audiences
        try await connection.send(
            .request(.verifyJWT, callID: id, payload: ByteBuffer(bytes: try request.serializedBytes() as [UInt8])))
        let reply = try await connection.frame()
        #expect(reply.callID == id)
        return reply
    }

    @Test("a token verifies with the provider its iss names; header and claims come back byte for byte")
    func verifies() async throws {
        let idp = Signer(kid: "i1")
        let other = Signer(kid: "o1")
        let (dispatcher, directory) = try await Self.setUp(idp, other)
        defer { try? FileManager.default.removeItem(at: directory) }
        let connection = try await TestingConnection.open(dispatcher)
        let claims = #"{"iss":"https://idp.example.com","aud":"api","exp":\#(Self.inAnHour),"sub":"u1"}"#
        let reply = try await Self.call(connection, token: idp.token(claims))
        #expect(reply.status == .ok)
        let message = try Jwksd_V1_VerifyJWTResponse(serializedBytes: Array(buffer: reply.payload))
        #expect(message.provider == "idp" && message.kid == "i1" && message.alg == "ES256" && !message.stale)
        #expect(Array(message.claims) == Array(claims.utf8))
        #expect(Array(message.header) == Array(#"{"alg":"ES256","kid":"i1","typ":"JWT"}"#.utf8))
        // The other provider's token, chosen by its iss, with the call's audiences (it has none configured).
        let otherClaims = #"{"iss":"https://other.example.com","aud":"web","exp":\#(Self.inAnHour)}"#
        let second = try await Self.call(connection, token: other.token(otherClaims), audiences: ["web"], id: 2)
        #expect(second.status == .ok)
        #expect(try Jwksd_V1_VerifyJWTResponse(serializedBytes: Array(buffer: second.payload)).provider == "other")
        #expect(try await connection.finish())
    }

    @Test("refusals are UNAUTHENTICATED with their reason; missing audiences are INVALID_ARGUMENT")
    func refusals() async throws {
        let idp = Signer(kid: "i1")
        let other = Signer(kid: "o1")
        let (dispatcher, directory) = try await Self.setUp(idp, other)
        defer { try? FileManager.default.removeItem(at: directory) }
        let connection = try await TestingConnection.open(dispatcher)
        let good = #"{"iss":"https://idp.example.com","aud":"api","exp":\#(Self.inAnHour)}"#
        let cases: [(token: String, provider: String, audiences: [String], status: StatusCode, reason: String)] = [
            (
                idp.token(#"{"iss":"https://idp.example.com","aud":"api","exp":1000}"#), "", [], .unauthenticated,
                "expired"
            ),
            (
                idp.token(#"{"iss":"https://idp.example.com","aud":"web","exp":\#(Self.inAnHour)}"#), "", [],
                .unauthenticated, "bad_audience"
            ),
            (
                idp.token(#"{"iss":"https://evil.example.com","aud":"api","exp":\#(Self.inAnHour)}"#), "", [],
                .unauthenticated, "bad_issuer"
            ),
            (
                idp.token(#"{"iss":"https://evil.example.com","aud":"api","exp":\#(Self.inAnHour)}"#), "idp", [],
                .unauthenticated, "bad_issuer"
            ),
            (other.token(good, header: #"{"alg":"ES256","kid":"i1"}"#), "", [], .unauthenticated, "bad_signature"),
            (idp.token(good, header: #"{"alg":"none"}"#), "", [], .unauthenticated, "unsupported_alg"),
            (idp.token(good, header: #"{"alg":"HS256","kid":"i1"}"#), "", [], .unauthenticated, "unsupported_alg"),
            ("not.a-token", "", [], .unauthenticated, "malformed"),
            // Over every provider's max_token_bytes: refused before the payload is read for an iss.
            (idp.token(#"{"pad":"\#(String(repeating: "p", count: 20_000))"}"#), "", [], .unauthenticated, "malformed"),
            // A payload that is not a claims object, with no provider named: malformed, not bad_issuer.
            (idp.token("[1,2]"), "", [], .unauthenticated, "malformed"),
            (idp.token(good), "nope", [], .notFound, ""),
            (
                other.token(#"{"iss":"https://other.example.com","aud":"web","exp":\#(Self.inAnHour)}"#), "", [],
                .invalidArgument, ""
            ),
            ("", "", [], .invalidArgument, ""),
            (idp.token(good), "", (0..<65).map { "a\($0)" }, .invalidArgument, ""),
            (idp.token(good), "", [String(repeating: "a", count: 513)], .invalidArgument, ""),
            (
                idp.token(good, header: #"{"alg":"ES256","kid":"\#(String(repeating: "k", count: 300))"}"#), "", [],
                .unauthenticated, "unknown_kid"
            ),
        ]
        for (index, testCase) in cases.enumerated() {
            let reply = try await Self.call(
                connection, provider: testCase.provider, token: testCase.token, audiences: testCase.audiences,
                id: UInt32(index + 1))
            #expect(reply.status == testCase.status, "case \(index): \(reply.text)")
            if !testCase.reason.isEmpty {
                #expect(reply.text.hasPrefix(testCase.reason + ": "), "case \(index): \(reply.text)")
            }
        }
        // A kid over the lookup bound is refused before the kid-miss rule could remember it.
        let longKid = try await Self.call(
            connection,
            token: idp.token(good, header: #"{"alg":"ES256","kid":"\#(String(repeating: "k", count: 300))"}"#), id: 99)
        #expect(longKid.text.hasSuffix("kids over 256 are never looked up"), "\(longKid.text)")
        #expect(try await connection.finish())
    }

    @Test("an unknown kid applies the kid-miss rule: the refetched set verifies the token in the same call")
    func kidMiss() async throws {
        let idp = Signer(kid: "i1")
        let other = Signer(kid: "o1")
        let (dispatcher, directory) = try await Self.setUp(idp, other)
        defer { try? FileManager.default.removeItem(at: directory) }
        let rotated = Signer(kid: "i2")
        try Data(rotated.jwks).write(to: directory.appendingPathComponent("idp.json"))
        let connection = try await TestingConnection.open(dispatcher)
        let claims = #"{"iss":"https://idp.example.com","aud":"api","exp":\#(Self.inAnHour)}"#
        let reply = try await Self.call(connection, token: rotated.token(claims))
        #expect(reply.status == .ok, "\(reply.text)")
        #expect(try Jwksd_V1_VerifyJWTResponse(serializedBytes: Array(buffer: reply.payload)).kid == "i2")
        // The old key left with the rotation: its tokens no longer verify.
        let old = try await Self.call(connection, token: idp.token(claims), id: 2)
        #expect(old.status == .unauthenticated && old.text.hasPrefix("unknown_kid: "), "\(old.text)")
        #expect(try await connection.finish())
    }

    @Test("a tenant the peer may not read is NOT_FOUND, as for every method")
    func peerACL() async throws {
        let idp = Signer(kid: "i1")
        let (dispatcher, directory) = try await Self.setUp(idp, Signer(kid: "o1"))
        defer { try? FileManager.default.removeItem(at: directory) }
        let connection = try await TestingConnection.open(dispatcher)
        let claims = #"{"exp":\#(Self.inAnHour)}"#
        let reply = try await Self.call(connection, tenant: "locked", provider: "idp", token: idp.token(claims))
        #expect(reply.status == .notFound)
        #expect(try await connection.finish())
    }

    @Test("a kid-less token that arrives during the first load waits for it, then verifies")
    func kidLessWaitsForFirstLoad() async throws {
        let idp = Signer(kid: "i1")
        let gate = GatedTransport(body: idp.jwks, passFirst: false)
        let (dispatcher, directory) = try await ConnectionHandlerTests.dispatcher(
            server: "max_calls_per_connection: 8",
            tenants: """
                acme: { providers: { idp: { jwks_uri: "https://idp.example.com/jwks", verify: { issuer: "https://idp.example.com", audiences: [api] } } } }
                """, transport: gate, settle: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(await eventually { gate.held == 1 })
        let claims = #"{"iss":"https://idp.example.com","aud":"api","exp":\#(Self.inAnHour)}"#
        let token = idp.token(claims, header: #"{"alg":"ES256"}"#)
        var request = Jwksd_V1_VerifyJWTRequest()
        request.tenant = "acme"
        request.token = token
        // Not UNAVAILABLE at once (no keys yet): the call waits for the load in flight.
        let answer = dispatcher.dispatch(
            .verifyJWT, payload: ByteBuffer(bytes: try request.serializedBytes() as [UInt8]), peer: nil)
        guard case .deferred(let work) = answer else {
            Issue.record("a kid-less token during the first load was answered at once")
            return
        }
        let waiting = Task { await work() }
        gate.open()
        let reply = await waiting.value
        #expect(reply.status == .ok, "\(String(buffer: reply.payload))")
        let message = try Jwksd_V1_VerifyJWTResponse(serializedBytes: Array(buffer: reply.payload))
        #expect(message.kid == "" && message.provider == "idp")
    }
}
