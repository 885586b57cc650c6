import DevIssuer
import Foundation
import JWKSCache
import JWKSClient
import JWKSConfig
import JWKSTestSupport
import JWKSWire
import NIOCore
import Testing

@testable import JWKSServer

/// A connection's remembered GetKey answers: reused only while nothing was published and the standing holds.
@Suite("Reply cache", .serialized)
struct ReplyCacheTests {
    /// An engine with two key-file providers in tenant acme, loaded.
    static func engine() async throws -> (JWKSEngine, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-replies-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(try Fixture.bytes("google-jwks-v3-2026-08-20.json")).write(
            to: directory.appendingPathComponent("keys.json"))
        let config = try ConfigLoader.load(
            text: "version: 1\ntenants:\n  acme:\n    providers:\n      disk: { file: keys.json }\n"
                + "      other: { file: keys.json }\n", baseDirectory: directory.path)
        let engine = JWKSEngine(
            config: config, clock: ManualClock(), transport: NoNetwork(),
            prepare: PreparedReplies.preparer(compressMinBytes: 1024))
        let events = engine.events()
        engine.start()
        var loaded = 0
        for await event in events where event.kind != .fetchStarted {
            loaded += 1
            if loaded == 2 { break }
        }
        return (engine, directory)
    }

    static func entry(_ engine: JWKSEngine, provider: String, until: EngineInstant) throws -> ReplyCache.Entry {
        let entry = try #require(engine.entry(tenant: "acme", provider: provider))
        let registry = engine.publication
        let (snapshot, publication) = entry.publishedSnapshot()
        let reply = try #require(snapshot.prepared?.set(stale: false))
        return ReplyCache.Entry(
            reply: reply, stale: false, validUntil: until, registry: registry,
            sources: [ReplyCache.Source(entry: entry, publication: publication)])
    }

    @Test("an answer holds while its registry and snapshots are in force and its standing lasts; per provider")
    func rules() async throws {
        let (engine, directory) = try await Self.engine()
        defer { try? FileManager.default.removeItem(at: directory) }
        var cache = ReplyCache()
        let first = ByteBuffer(string: "tenant acme provider disk kid k1")
        let second = ByteBuffer(string: "tenant acme provider other kid k1")
        let until = EngineInstant(offset: .seconds(100))
        cache.store(first, try Self.entry(engine, provider: "disk", until: until))
        cache.store(second, try Self.entry(engine, provider: "other", until: until))
        let registry = engine.publication
        let early = EngineInstant(offset: .seconds(99))
        #expect(
            cache.lookup(ByteBuffer(string: "tenant acme provider disk kid k1"), registry: registry, now: early) != nil)
        #expect(cache.lookup(first, registry: registry, now: until) == nil)
        #expect(cache.lookup(ByteBuffer(string: "tenant acme kid k2"), registry: registry, now: early) == nil)
        // A renewal of one provider (the file is unchanged: a new snapshot with new freshness) invalidates that
        // provider's answers only.
        _ = await engine.refresh(tenant: "acme", provider: "disk", deadline: EngineInstant(offset: .seconds(86_400)))
        #expect(cache.lookup(first, registry: registry, now: early) == nil)
        #expect(cache.lookup(second, registry: registry, now: early) != nil)
        // A reload swaps the registry: nothing remembered under the old one is reused.
        var config = engine.config
        config.tenants[0].allowedUIDs = [4242]
        engine.apply(config)
        #expect(engine.publication != registry)
        #expect(cache.lookup(second, registry: engine.publication, now: early) == nil)
        for index in 0..<ReplyCache.capacity {
            cache.store(ByteBuffer(string: "request \(index)"), try Self.entry(engine, provider: "other", until: until))
        }
        #expect(cache.count <= ReplyCache.capacity)
    }

    @Test("requests padded past the grammar's size are not remembered; the cache is bounded in bytes")
    func bounds() async throws {
        let (engine, directory) = try await Self.engine()
        defer { try? FileManager.default.removeItem(at: directory) }
        var cache = ReplyCache()
        let entry = try Self.entry(engine, provider: "disk", until: EngineInstant(offset: .seconds(100)))
        #expect(entry.reply.payload.readableBytes > 1_000)
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
        try await withHarness(try await MethodTests.harness()) { harness in
            let client = harness.client
            for _ in 0..<3 {
                #expect(try await client.getKey(tenant: "beta", provider: "idp", kid: "beta-0").kid == "beta-0")
            }
            let rotated = try #require(harness.issuer.rotate("beta"))
            _ = try await client.refresh(tenant: "beta")
            await #expect(throws: RPCError.self) {
                _ = try await client.getKey(tenant: "beta", provider: "idp", kid: "beta-0")
            }
            #expect(try await client.getKey(tenant: "beta", provider: "idp", kid: rotated.kid).kid == rotated.kid)
        }
    }

    @Test("an answer remembered while fresh is not reused once the keys turn stale, with nothing published")
    func standing() async throws {
        try await withHarness(try await MethodTests.harness()) { harness throws in
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
}
