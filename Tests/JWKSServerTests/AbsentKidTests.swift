import Foundation
import JWKSCache
import JWKSTestSupport
import JWKSWire
import NIOCore
import NIOHTTP1
import SwiftProtobuf
import Testing

@testable import JWKSServer

/// A miss the kid-miss rule answers without fetching or waiting (a kid confirmed absent within the cooldown, or
/// a refetch already made within it) is answered at once, on the event loop: no task and no wait, and the same
/// answer a lookup gives after the rule ran. GetKey, VerifyJWT and the HTTP endpoint's `?kid=` share it.
@Suite("Absent kids answered at once")
struct AbsentKidTests {
    /// Tenant acme with providers `disk` and `other`, both Google's key set from files, cooldown 30 s.
    static func setUp(files: [String: [UInt8]] = [:], idp: String = "") async throws -> (
        RequestDispatcher, ManualClock, URL
    ) {
        let (dispatcher, directory) = try await ConnectionHandlerTests.dispatcher(
            server: "max_calls_per_connection: 8",
            tenants: """
                acme: { providers: { disk: { file: keys.json, kid_miss_cooldown: 30s }, other: { file: keys.json, kid_miss_cooldown: 30s }\(idp) } }
                """, transport: NoNetwork(), files: files)
        let clock = try #require(dispatcher.engine.clock as? ManualClock)
        return (dispatcher, clock, directory)
    }

    static func getKey(_ dispatcher: RequestDispatcher, provider: String = "", kid: String) throws -> Answer {
        var request = Jwksd_V1_GetKeyRequest()
        request.tenant = "acme"
        request.provider = provider
        request.kid = kid
        return dispatcher.dispatch(
            .getKey, payload: ByteBuffer(bytes: try request.serializedBytes() as [UInt8]), peer: nil)
    }

    /// VerifyJWT of `token` against acme/idp.
    static func verify(_ dispatcher: RequestDispatcher, _ token: String) throws -> Answer {
        var request = Jwksd_V1_VerifyJWTRequest()
        request.tenant = "acme"
        request.provider = "idp"
        request.token = token
        return dispatcher.dispatch(
            .verifyJWT, payload: ByteBuffer(bytes: try request.serializedBytes() as [UInt8]), peer: nil)
    }

    /// The reply of an answer that must come at once.
    static func now(_ answer: Answer, _ comment: Comment) -> Reply? {
        guard case .reply(let reply) = answer else {
            Issue.record(comment)
            return nil
        }
        return reply
    }

    /// The reply of an answer that must go through a lookup (a task), awaited.
    static func later(_ answer: Answer, _ comment: Comment) async -> Reply? {
        guard case .deferred(let work) = answer else {
            Issue.record(comment)
            return nil
        }
        return await work()
    }

    @Test(
        "GetKey: a kid the rule answered absent, or any kid after a refetch within the cooldown, is NOT_FOUND at once")
    func getKey() async throws {
        let (dispatcher, clock, directory) = try await Self.setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try #require(
            await Self.later(try Self.getKey(dispatcher, provider: "disk", kid: "gone"), "the first miss ran no lookup")
        )
        #expect(first.status == .notFound)
        #expect(String(buffer: first.payload) == #"kid "gone" not found in acme/disk"#)
        let again = try #require(
            Self.now(try Self.getKey(dispatcher, provider: "disk", kid: "gone"), "a known-absent kid waited"))
        #expect(again.status == .notFound && again.payload == first.payload)
        // One refetch per cooldown: a kid not asked before is NOT_FOUND at once too.
        let other = try #require(
            Self.now(try Self.getKey(dispatcher, provider: "disk", kid: "also-gone"), "a second kid waited"))
        #expect(other.status == .notFound)

        // Tenant-wide: `other` has not refetched yet, so the rule runs there first; then the answer comes at once.
        let wide = try #require(
            await Self.later(try Self.getKey(dispatcher, kid: "gone"), "a tenant-wide miss skipped a provider's rule"))
        #expect(wide.status == .notFound && String(buffer: wide.payload) == #"kid "gone" not found in tenant acme"#)
        let wideAgain = try #require(Self.now(try Self.getKey(dispatcher, kid: "gone"), "a tenant-wide repeat waited"))
        #expect(wideAgain.status == .notFound && wideAgain.payload == wide.payload)

        // Past the cooldown the rule refetches again, and finds a kid published since.
        let google = String(decoding: try Fixture.bytes("google-jwks-v3-2026-08-20.json"), as: UTF8.self)
        try google.replacingOccurrences(of: "8ff13a6fcdabf306712e58f35668a04eb5a5fae1", with: "gone")
            .write(to: directory.appendingPathComponent("keys.json"), atomically: true, encoding: .utf8)
        let cached = try #require(
            Self.now(try Self.getKey(dispatcher, provider: "disk", kid: "gone"), "within the cooldown the rule fetched")
        )
        #expect(cached.status == .notFound)
        clock.advance(by: .seconds(31))
        let found = try #require(
            await Self.later(
                try Self.getKey(dispatcher, provider: "disk", kid: "gone"), "past the cooldown the rule did not run"))
        #expect(found.status == .ok)
        #expect(try Jwksd_V1_GetKeyResponse(serializedBytes: Array(buffer: found.payload)).kid == "gone")
    }

    @Test("VerifyJWT: a token whose kid the rule answered absent is refused unknown_kid at once")
    func verifyJWT() async throws {
        let signer = VerifyJWTTests.Signer(kid: "i1")
        let (dispatcher, _, directory) = try await Self.setUp(
            files: ["idp.json": signer.jwks], idp: ", idp: { file: idp.json, verify: { audiences: any } }")
        defer { try? FileManager.default.removeItem(at: directory) }
        let stranger = VerifyJWTTests.Signer(kid: "stranger")
        let token = stranger.token(#"{"exp":\#(VerifyJWTTests.inAnHour)}"#)
        let first = try #require(
            await Self.later(try Self.verify(dispatcher, token), "the first miss ran no lookup"))
        #expect(first.status == .unauthenticated)
        let again = try #require(Self.now(try Self.verify(dispatcher, token), "a known-absent kid waited"))
        #expect(again.status == .unauthenticated && again.payload == first.payload)
        #expect(String(buffer: again.payload).hasPrefix(#"unknown_kid: acme/idp has no key "stranger""#))
        // The provider's own key still verifies: the shortcut answers only for kids the set lacks.
        let good = try #require(
            Self.now(
                try Self.verify(dispatcher, signer.token(#"{"exp":\#(VerifyJWTTests.inAnHour)}"#)),
                "a good token waited"))
        #expect(good.status == .ok)
    }

    @Test("VerifyJWT: a kid the set publishes only on an encryption key is refused at once, saying so")
    func verifyJWTEncryptionKid() async throws {
        let signer = VerifyJWTTests.Signer(kid: "i1")
        let encryption = VerifyJWTTests.Signer(kid: "enc-1")
        func key(_ signer: VerifyJWTTests.Signer) -> String {
            String(decoding: signer.jwks, as: UTF8.self).dropFirst(#"{"keys":["#.count).dropLast(2).description
        }
        let set =
            #"{"keys":["# + key(signer) + ","
            + key(encryption).replacingOccurrences(
                of: #""kid":"enc-1""#, with: #""kid":"enc-1","use":"enc""#) + "]}"
        let (dispatcher, _, directory) = try await Self.setUp(
            files: ["idp.json": Array(set.utf8)], idp: ", idp: { file: idp.json, verify: { audiences: any } }")
        defer { try? FileManager.default.removeItem(at: directory) }
        let refused = try #require(
            Self.now(
                try Self.verify(dispatcher, encryption.token(#"{"exp":\#(VerifyJWTTests.inAnHour)}"#)),
                "a kid the set publishes went through the kid-miss rule"))
        #expect(refused.status == .unauthenticated)
        #expect(
            String(buffer: refused.payload).hasPrefix(
                #"unknown_kid: acme/idp publishes kid "enc-1" only on keys that cannot verify a signature (use "enc""#))
        let good = try #require(
            Self.now(
                try Self.verify(dispatcher, signer.token(#"{"exp":\#(VerifyJWTTests.inAnHour)}"#)),
                "a good token waited"))
        #expect(good.status == .ok)
    }

    @Test("HTTP ?kid=: a kid the rule answered absent gets the set at once instead of a wait")
    func http() async throws {
        let (dispatcher, _, directory) = try await Self.setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        let responder = JWKSHTTPResponder(engine: dispatcher.engine, identifiesPeers: true, kidWait: .seconds(2))
        func decide(_ target: String) -> JWKSHTTPResponder.Decision {
            responder.decide(HTTPRequestHead(version: .http1_1, method: .GET, uri: target), peer: nil)
        }
        for target in ["/v1/jwks/acme/disk?kid=gone", "/v1/jwks/acme?kid=gone"] {
            guard case .awaitKid = decide(target) else {
                Issue.record("\(target): the first miss did not run the rule")
                continue
            }
        }
        // The rule runs (as the handler would run it), then the same requests are answered without a wait.
        _ = await dispatcher.engine.lookup(
            tenant: "acme", provider: nil, kid: "gone", alg: nil,
            deadline: dispatcher.engine.clock.now.advanced(by: .seconds(5)))
        for target in ["/v1/jwks/acme/disk?kid=gone", "/v1/jwks/acme?kid=gone", "/v1/jwks/acme/other?kid=new"] {
            guard case .answer(let answer) = decide(target) else {
                Issue.record("\(target): a known-absent kid waited")
                continue
            }
            #expect(answer.status == .ok, "\(target)")
        }
    }
}
