import DevIssuer
import JWKS
import JWKSConfig
import JWKSTestSupport
import Testing

@testable import JWKSCache

@Suite("DevIssuer")
struct DevIssuerTests {
    @Test("serves discovery and a JWKS of real RSA 2048, P-256 and Ed25519 keys, conditionally")
    func servesKeys() async throws {
        let issuer = try await DevIssuer.start()
        let transport = AsyncHTTPClientTransport(connectTimeout: .seconds(10))
        defer {
            Task {
                try? await transport.shutdown()
                try? await issuer.shutdown()
            }
        }
        issuer.addIssuer("acme", maxAge: 60)
        func get(_ url: String, _ headers: [HTTPField] = []) async throws -> HTTPGetResponse {
            try await transport.get(
                HTTPGetRequest(url: try HTTPURL(url), headers: headers, timeout: .seconds(5), maxBodyBytes: 1_048_576))
        }
        let discovery = try await get(issuer.issuerURL("acme") + "/.well-known/openid-configuration")
        let document = try JSONParser.parse(discovery.body)
        #expect(document[member: "issuer"]?.stringValue == issuer.issuerURL("acme"))
        #expect(document[member: "jwks_uri"]?.stringValue == issuer.jwksURL("acme"))

        let first = try await get(issuer.jwksURL("acme"))
        #expect(first.status == 200)
        #expect(first.headers["cache-control"] == "public, max-age=60")
        let set = try JWKSet(parsing: first.body)
        #expect(set.keys.map(\.keyType) == [.rsa, .ec, .okp])
        #expect(set.keys.first?.sizeInBits == 2048)
        #expect(set.dropped.isEmpty)

        let etag = try #require(first.headers["etag"])
        let second = try await get(issuer.jwksURL("acme"), [HTTPField("If-None-Match", etag)])
        #expect(second.status == 304)
        #expect(second.body.isEmpty)

        let rotated = try #require(issuer.rotate("acme"))
        let third = try await get(issuer.jwksURL("acme"), [HTTPField("If-None-Match", etag)])
        #expect(third.status == 200)
        let kids = try JWKSet(parsing: third.body).kids
        #expect(kids.first == rotated.kid)
        #expect(kids.count == 3)
        #expect(!kids.contains("acme-2"))

        let log = issuer.requests(to: "/acme/jwks")
        #expect(log.map(\.status) == [200, 304, 200])
        #expect(log[1].ifNoneMatch == etag)
        let missing = try await get(issuer.baseURL + "/nobody/jwks")
        #expect(missing.status == 404)
    }

    @Test("P-256 keys are points on the curve, a new one each time")
    func p256Keys() throws {
        let keys = (0..<32).map { DevKey(kind: .p256, kid: "k\($0)") }
        let set = try JWKSet(
            parsing: Array(#"{"keys":["#.utf8) + Array(keys.map(\.json).joined(separator: ",").utf8) + Array("]}".utf8))
        #expect(set.keys.count == 32)
        #expect(set.dropped.isEmpty)
        let xs = try keys.map { try JSONParser.parse(Array($0.json.utf8))[member: "x"]?.stringValue }
        #expect(Set(xs.compactMap { $0 }).count == 32)
    }

    @Test("rotation on a timer follows the injected clock")
    func timedRotation() async throws {
        let issuer = try await DevIssuer.start()
        try await withCleanup {
            issuer.addIssuer("acme", kinds: [.p256], maxAge: 60)
            let clock = ManualClock()
            issuer.rotate("acme", every: .seconds(60), clock: clock)
            while clock.sleeperCount == 0 { await Task.yield() }
            #expect(issuer.keys("acme").map(\.kid) == ["acme-0"])
            clock.advance(by: .seconds(60))
            while issuer.keys("acme").first?.kid == "acme-0" { await Task.yield() }
            #expect(issuer.keys("acme").map(\.kid) == ["acme-1"])
            while clock.sleeperCount == 0 { await Task.yield() }
            clock.advance(by: .seconds(60))
            while issuer.keys("acme").first?.kid == "acme-1" { await Task.yield() }
            #expect(issuer.keys("acme").map(\.kid) == ["acme-2"])
            issuer.rotate("acme", every: nil)
        } cleanup: {
            try? await issuer.shutdown()
        }
    }
}
