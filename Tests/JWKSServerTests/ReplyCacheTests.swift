import DevIssuer
import Foundation
import JWKSCache
import JWKSClient
import JWKSTestSupport
import JWKSWire
import NIOCore
import Testing

@testable import JWKSServer

/// A connection's remembered GetKey answers: reused only while nothing was published and the standing holds.
@Suite("Reply cache", .serialized)
struct ReplyCacheTests {
    @Test("an answer holds for its generation and until its tick; the request bytes are the key")
    func rules() {
        var cache = ReplyCache()
        let request = ByteBuffer(string: "tenant acme kid k1")
        let entry = ReplyCache.Entry(reply: ByteBuffer(string: "reply"), stale: false, validUntil: 100, generation: 7)
        cache.store(request, entry)
        #expect(cache.lookup(ByteBuffer(string: "tenant acme kid k1"), generation: 7, now: 99)?.reply == entry.reply)
        #expect(cache.lookup(request, generation: 8, now: 99) == nil)
        #expect(cache.lookup(request, generation: 7, now: 100) == nil)
        #expect(cache.lookup(ByteBuffer(string: "tenant acme kid k2"), generation: 7, now: 0) == nil)
        for index in 0..<ReplyCache.capacity { cache.store(ByteBuffer(string: "request \(index)"), entry) }
        #expect(cache.count <= ReplyCache.capacity)
        #expect(cache.lookup(request, generation: 7, now: 0) == nil)
    }

    @Test("requests padded past the grammar's size are not remembered; the cache is bounded in bytes")
    func bounds() {
        var cache = ReplyCache()
        let reply = ByteBuffer(repeating: 0x41, count: 1_500)
        let entry = ReplyCache.Entry(reply: reply, stale: false, validUntil: 100, generation: 1)
        let padded = ByteBuffer(repeating: 0x0A, count: 600_000)
        cache.store(padded, entry)
        #expect(cache.count == 0 && cache.bytes == 0)
        for index in 0..<10_000 {
            var request = ByteBuffer(repeating: 0x20, count: ReplyCache.maximumRequestBytes - 8)
            request.writeString(String(format: "%08d", index))
            cache.store(request, entry)
            #expect(cache.bytes <= ReplyCache.capacityBytes)
            #expect(cache.count <= ReplyCache.capacity)
        }
    }

    @Test("a rotation published between two identical lookups on one connection is seen by the second")
    func publication() async throws {
        let harness = try await MethodTests.harness()
        defer { Task { await harness.shutdown() } }
        let client = harness.client
        for _ in 0..<3 {
            #expect(try await client.getKey(tenant: "beta", provider: "idp", kid: "beta-0").kid == "beta-0")
        }
        let rotated = try #require(harness.issuer.rotate("beta"))
        _ = try await client.refresh(tenant: "beta")
        await #expect(throws: JWKSClientError.self) {
            _ = try await client.getKey(tenant: "beta", provider: "idp", kid: "beta-0")
        }
        #expect(try await client.getKey(tenant: "beta", provider: "idp", kid: rotated.kid).kid == rotated.kid)
    }

    @Test("an answer remembered while fresh is not reused once the keys turn stale, with nothing published")
    func standing() async throws {
        let harness = try await MethodTests.harness()
        defer { Task { await harness.shutdown() } }
        let client = harness.client
        for _ in 0..<2 { #expect(try await !client.getKey(tenant: "beta", provider: "idp", kid: "beta-0").stale) }
        // The keys expire and their refresh hangs: time alone turns them stale, no snapshot is published.
        harness.issuer.inject(.delay(.seconds(2)), at: "/beta/jwks")
        let events = harness.engine.events()
        harness.clock.advance(by: .seconds(301))
        for await event in events where event.key.tenant == "beta" && event.kind == .fetchStarted { break }
        #expect(try await client.getKey(tenant: "beta", provider: "idp", kid: "beta-0").stale)
    }
}
