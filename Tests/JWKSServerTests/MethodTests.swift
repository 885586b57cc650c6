import DevIssuer
import Foundation
import JWKS
import JWKSCache
import JWKSClient
import JWKSServer
import JWKSTestSupport
import JWKSWire
import NIOCore
import SwiftProtobuf
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Server methods over the socket", .serialized)
struct MethodTests {
    static let tenants = """
        acme:
          providers:
            idp: { issuer: "{{BASE}}/acme" }
            microsoft: { jwks_uri: "{{BASE}}/common/discovery/v2.0/keys" }
        beta:
          providers:
            idp: { jwks_uri: "{{BASE}}/beta/jwks" }
        locked:
          allowed_uids: [12345]
          providers:
            idp: { jwks_uri: "{{BASE}}/beta/jwks" }
        down:
          providers:
            idp: { jwks_uri: "{{BASE}}/down/jwks" }
        """

    static func harness(server: String = "") async throws -> ServerHarness {
        try await ServerHarness(yaml: ServerHarness.yaml(tenants, server: server)) { issuer in
            issuer.addIssuer("acme", kinds: [.rsa2048, .p256, .ed25519], maxAge: 300)
            issuer.addIssuer("beta", kinds: [.p256], maxAge: 300)
            issuer.serve(path: "/common/discovery/v2.0/keys", body: try! Fixture.bytes("microsoft-jwks.json"))
            issuer.inject(.status(503), at: "/down/jwks")
        }
    }

    @Test("GetKey answers the key's original JSON and facts; narrowing by alg; searching the tenant")
    func getKey() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let keys = harness.issuer.keys("acme")
            let reply = try await harness.client.getKey(tenant: "acme", provider: "idp", kid: "acme-1")
            #expect(reply.kid == "acme-1")
            #expect(reply.kty == "EC")
            #expect(reply.alg == "ES256")
            #expect(reply.use == "sig")
            #expect(reply.provider == "idp")
            #expect(!reply.stale)
            #expect(reply.matches == 1)
            #expect(reply.expiresAt == reply.fetchedAt + 300)
            #expect(String(decoding: reply.jwkJson, as: UTF8.self) == keys[1].json)
            let searched = try await harness.client.getKey(tenant: "acme", kid: "acme-0", alg: "RS256")
            #expect(searched.kty == "RSA" && searched.provider == "idp")
            let microsoft = try await harness.client.getKey(
                tenant: "acme", kid: "nOo3ZDrODXEK1jKWhXslHR_KXEg", alg: "RS256")
            #expect(microsoft.provider == "microsoft")
            await #expect(throws: RPCError.self) {
                _ = try await harness.client.getKey(tenant: "acme", provider: "idp", kid: "acme-1", alg: "RS256")
            }
        }
    }

    @Test("GetKeySet returns the document verbatim; the 15 KB Microsoft set compresses when accepted")
    func getKeySet() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let original = try Fixture.bytes("microsoft-jwks.json")
            let plain = try await harness.client.getKeySet(
                tenant: "acme", provider: "microsoft", acceptCompressed: false)
            #expect(Array(plain.jwksJson) == original)
            #expect(plain.keyCount == 9)
            let compressed = try await harness.client.getKeySet(
                tenant: "acme", provider: "microsoft", acceptCompressed: true)
            #expect(compressed == plain)
            let frame = try await harness.client.rawCall(
                .getKeySet, payload: try Self.payload(tenant: "acme", provider: "microsoft"), flags: .acceptCompressed,
                timeout: .seconds(5))
            #expect(frame.status == .ok)
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            try raw.send(
                .request(
                    .getKeySet, callID: 1, payload: try Self.payload(tenant: "acme", provider: "microsoft"),
                    flags: .acceptCompressed))
            let wire = try #require(try await raw.readFrame())
            #expect(wire.flags.contains(.compressed))
            #expect(
                wire.payload.readableBytes < original.count * 6 / 10,
                "compressed to \(wire.payload.readableBytes) of \(original.count) bytes")
            print(
                "GetKeySet microsoft-jwks.json: \(original.count) bytes, reply \(plain.jwksJson.count + 20) bytes, compressed \(wire.payload.readableBytes) bytes"
            )
        }
    }

    static func payload(tenant: String, provider: String) throws -> ByteBuffer {
        var request = Jwksd_V1_GetKeySetRequest()
        request.tenant = tenant
        request.provider = provider
        return ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
    }

    @Test("ListTenants, Status, Health, Refresh and Reload")
    func adminAndListing() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let tenants = try await harness.client.listTenants()
            #expect(tenants.tenants.map(\.id) == ["acme", "beta", "down"])
            #expect(tenants.tenants[0].providers == ["idp", "microsoft"])
            let status = try await harness.client.status()
            #expect(status.providers.count == 4)
            let idp = try #require(status.providers.first { $0.tenant == "acme" && $0.provider == "idp" })
            #expect(idp.state == "ready" && idp.standing == "fresh" && idp.keyCount == 3 && !idp.etag.isEmpty)
            #expect(idp.nextRefresh > 0 && idp.expiresAt > idp.fetchedAt && idp.staleUntil > idp.expiresAt)
            let down = try #require(status.providers.first { $0.tenant == "down" })
            #expect(
                down.consecutiveErrors == 1 && down.lastErrorCode == "http_status"
                    && down.lastError.contains("HTTP 503"))
            #expect(status.configGeneration == 1)
            let health = try await harness.client.health()
            // Health counts only the tenants this peer may read ("locked" is not one of them).
            #expect(health.serving && health.providers == 4 && health.ready == 3 && health.loading.isEmpty)
            let before = harness.issuer.requests(to: "/beta/jwks").count
            let refreshed = try await harness.client.refresh(tenant: "beta")
            #expect(refreshed.providers.map(\.provider) == ["idp"])
            #expect(harness.issuer.requests(to: "/beta/jwks").count == before + 1)
            let reload = try await harness.client.reload()
            #expect(!reload.result.ok)
            #expect(reload.result.error == "this server has no config file to reload")
        }
    }

    @Test("Watch sees a rotation")
    func watch() async throws {
        try await withHarness(try await Self.harness()) { harness in
            // On one connection frames are handled in order: once the Health answer arrives, the Watch is subscribed.
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            try raw.send(.request(.watch, callID: 1, payload: watchPayload(tenants: ["beta"])))
            try raw.send(.request(.health, callID: 2, payload: ByteBuffer()))
            #expect(try await raw.readFrame()?.callID == 2)
            let rotated = try #require(harness.issuer.rotate("beta"))
            _ = try await harness.client.refresh(tenant: "beta")
            let frame = try #require(try await raw.readFrame())
            #expect(frame.kind == .message && frame.callID == 1)
            let event = try Jwksd_V1_WatchEvent(serializedBytes: Array(buffer: frame.payload))
            #expect(event.tenant == "beta" && event.provider == "idp" && event.kind == .keysChanged)
            #expect(event.kids.first == rotated.kid)
        }
    }

    @Test("a peer is let in by allowed_gids when its uid is not listed; a tenant listing neither is NOT_FOUND")
    func allowedGIDs() async throws {
        let tenants = """
            bygroup:
              allowed_uids: [\(getuid() &+ 1)]
              allowed_gids: [\(getgid())]
              providers:
                idp: { jwks_uri: "{{BASE}}/beta/jwks" }
            othergroup:
              allowed_gids: [\(getgid() &+ 1)]
              providers:
                idp: { jwks_uri: "{{BASE}}/beta/jwks" }
            """
        try await withHarness(
            try await ServerHarness(yaml: ServerHarness.yaml(tenants)) {
                $0.addIssuer("beta", kinds: [.p256], maxAge: 300)
            }
        ) { harness throws in
            #expect(try await harness.client.getKey(tenant: "bygroup", kid: "beta-0").kid == "beta-0")
            await #expect {
                _ = try await harness.client.getKey(tenant: "othergroup", kid: "beta-0")
            } throws: { error in
                (error as? RPCError)?.code == .notFound
            }
            #expect(try await harness.client.listTenants().tenants.map(\.id) == ["bygroup"])
        }
    }

    @Test(
        "every status code the server uses",
        arguments: [
            ("unknown tenant", StatusCode.notFound), ("unknown provider", .notFound), ("absent kid", .notFound),
            ("never loaded", .unavailable), ("tenant not allowed", .notFound),
            ("missing kid", .invalidArgument), ("GetKeySet without provider", .invalidArgument),
        ])
    func statuses(_ name: String, _ status: StatusCode) async throws {
        try await withHarness(try await Self.harness()) { harness in
            let client = harness.client
            do throws(RPCError) {
                switch name {
                case "unknown tenant": _ = try await client.getKey(tenant: "nobody", kid: "x")
                case "unknown provider": _ = try await client.getKey(tenant: "acme", provider: "nope", kid: "x")
                case "absent kid": _ = try await client.getKey(tenant: "beta", provider: "idp", kid: "nope")
                case "never loaded": _ = try await client.getKey(tenant: "down", provider: "idp", kid: "x")
                case "tenant not allowed": _ = try await client.getKey(tenant: "locked", provider: "idp", kid: "beta-0")
                case "missing kid": _ = try await client.getKey(tenant: "acme", kid: "")
                default: _ = try await client.getKeySet(tenant: "acme", provider: "")
                }
                Issue.record("\(name) should fail")
            } catch {
                #expect(error.code == status, "\(name): \(error)")
                if name == "never loaded" { #expect(error.message.contains("HTTP 503")) }
            }
        }
    }

    @Test("a refetch that outlasts the caller's deadline is DEADLINE_EXCEEDED")
    func deadline() async throws {
        try await withHarness(try await Self.harness()) { harness in
            harness.issuer.inject(.delay(.seconds(2)), at: "/beta/jwks", times: 1)
            async let outcome: Result<Jwksd_V1_GetKeyResponse, RPCError> = {
                do throws(RPCError) {
                    return .success(
                        try await harness.client.getKey(
                            tenant: "beta", provider: "idp", kid: "brand-new", timeout: .seconds(30)))
                } catch {
                    return .failure(error)
                }
            }()
            while harness.clock.sleeperCount < 2 { await Task.yield() }
            harness.clock.advance(by: .seconds(31))
            guard case .failure(let error) = await outcome else { Issue.record("should time out"); return }
            #expect(error.code == .deadlineExceeded)
        }
    }

    @Test("admin methods are refused to peers outside admin_uids")
    func adminDenied() async throws {
        try await withHarness(try await Self.harness(server: "admin_uids: [12345]")) { harness in
            await #expect {
                _ = try await harness.client.refresh(tenant: "beta")
            } throws: { error in
                (error as? RPCError)?.code == .permissionDenied
            }
            await #expect {
                _ = try await harness.client.reload()
            } throws: { error in
                (error as? RPCError)?.code == .permissionDenied
            }
        }
    }
}
