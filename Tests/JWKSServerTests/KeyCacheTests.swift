import DevIssuer
import Foundation
import JWKSCache
import JWKSConfig
import JWKSTestSupport
import JWKSWire
import NIOConcurrencyHelpers
import Prometheus
import Testing

@testable import JWKSClient
@testable import JWKSServer

/// JWKSKeyCache against a live server: hits from memory, Watch-driven drops, restarts, concurrency.
@Suite("Local key cache (JWKSKeyCache)", .serialized)
struct KeyCacheTests {
    static let tenants = """
        acme:
          providers:
            idp: { jwks_uri: "{{BASE}}/acme/jwks" }
            other: { jwks_uri: "{{BASE}}/other/jwks" }
        beta:
          providers:
            idp: { jwks_uri: "{{BASE}}/beta/jwks" }
        """

    static func harness(metrics: ServerMetrics = ServerMetrics()) async throws -> ServerHarness {
        try await ServerHarness(yaml: ServerHarness.yaml(tenants), metrics: metrics) { issuer in
            issuer.addIssuer("acme", kinds: [.p256, .rsa2048], maxAge: 300)
            issuer.addIssuer("other", kinds: [.p256], maxAge: 300)
            issuer.addIssuer("beta", kinds: [.p256], maxAge: 300)
        }
    }

    /// Waits until the cache's Watch is subscribed.
    static func live(_ cache: JWKSKeyCache) async -> Bool {
        await eventually { cache.isLive }
    }

    @Test("a repeated lookup is answered from memory: the server counts one GetKey")
    func hitsSkipTheSocket() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = ServerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        try await withHarness(try await Self.harness(metrics: metrics)) { harness in
            let cache = JWKSKeyCache(client: harness.client, tenants: ["acme"])
            #expect(await Self.live(cache))
            let first = try await cache.getKey(tenant: "acme", provider: "idp", kid: "acme-0", alg: "ES256")
            #expect(first.response.jwkJson == Data(harness.issuer.keys("acme")[0].json.utf8))
            for _ in 0..<100 {
                let hit = try await cache.getKey(tenant: "acme", provider: "idp", kid: "acme-0", alg: "ES256")
                #expect(hit === first)
            }
            #expect(cache.cachedKey(tenant: "acme", provider: "idp", kid: "acme-0", alg: "ES256") === first)
            // Another spelling of the lookup is another entry (the daemon's answer may differ).
            #expect(cache.cachedKey(tenant: "acme", kid: "acme-0") == nil)
            _ = try await harness.client.health()
            let getKeys = #"jwksd_requests_total{method="GetKey",status="OK"}"#
            let health = #"jwksd_requests_total{method="Health",status="OK"}"#
            #expect(await eventually { PrometheusText.sample(registry.emitToString(), health) == 1 })
            #expect(PrometheusText.sample(registry.emitToString(), getKeys) == 1)
            await cache.close()
        }
    }

    @Test("a rotation drops the provider's entries: the new key is found, the removed one is NOT_FOUND")
    func rotation() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let cache = JWKSKeyCache(client: harness.client)
            #expect(await Self.live(cache))
            _ = try await cache.getKey(tenant: "acme", provider: "idp", kid: "acme-1")
            _ = try await cache.getKey(tenant: "acme", kid: "acme-1")
            _ = try await cache.getKey(tenant: "acme", provider: "other", kid: "other-0")
            _ = try await cache.getKey(tenant: "beta", provider: "idp", kid: "beta-0")
            #expect(cache.count == 4)

            // acme-1 (the oldest of two) leaves, acme-2 arrives.
            let added = try #require(harness.issuer.rotate("acme"))
            _ = try await harness.client.refresh(tenant: "acme", provider: "idp")
            #expect(await eventually { cache.cachedKey(tenant: "acme", provider: "idp", kid: "acme-1") == nil })
            // Only what the event could change went: acme/idp and the tenant's provider-less lookups.
            #expect(cache.cachedKey(tenant: "acme", kid: "acme-1") == nil)
            #expect(cache.cachedKey(tenant: "acme", provider: "other", kid: "other-0") != nil)
            #expect(cache.cachedKey(tenant: "beta", provider: "idp", kid: "beta-0") != nil)
            // The miss waits for the kid-miss refetch: 30 s, as a loaded machine has taken more than 5 s for one.
            let error = await #expect(throws: RPCError.self) {
                _ = try await cache.getKey(tenant: "acme", provider: "idp", kid: "acme-1", timeout: .seconds(30))
            }
            #expect(error?.code == .notFound)
            let new = try await cache.getKey(tenant: "acme", provider: "idp", kid: added.kid)
            #expect(new.response.jwkJson == Data(added.json.utf8))
            #expect(cache.cachedKey(tenant: "acme", provider: "idp", kid: added.kid) === new)
            await cache.close()
            #expect(cache.count == 0 && !cache.isLive)
        }
    }

    @Test("a restart drops the copy; a change published while the cache was away is never answered from memory")
    func restart() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let cache = JWKSKeyCache(client: harness.client, tenants: ["acme"])
            #expect(await Self.live(cache))
            _ = try await cache.getKey(tenant: "acme", provider: "idp", kid: "acme-1")
            #expect(cache.count == 1)

            await harness.server.shutdown()
            #expect(await eventually { !cache.isLive && cache.count == 0 })
            #expect(cache.cachedKey(tenant: "acme", provider: "idp", kid: "acme-1") == nil)
            // The change the server could not deliver: acme-1 leaves while the cache is disconnected.
            harness.issuer.rotate("acme")
            _ = await harness.engine.refresh(
                tenant: "acme", provider: "idp", deadline: harness.clock.now.advanced(by: .seconds(5)))
            let down = await #expect(throws: RPCError.self) {
                _ = try await cache.getKey(tenant: "acme", provider: "idp", kid: "acme-1")
            }
            #expect(down?.code == .unavailable)

            let restarted = JWKSServer(dispatcher: harness.server.dispatcher)
            try await restarted.start()
            try await withCleanup {
                #expect(await eventually(within: .seconds(15)) { cache.isLive })
                let gone = await #expect(throws: RPCError.self) {
                    _ = try await cache.getKey(
                        tenant: "acme", provider: "idp", kid: "acme-1", timeout: .seconds(30))
                }
                #expect(gone?.code == .notFound)
                let kept = try await cache.getKey(tenant: "acme", provider: "idp", kid: "acme-0")
                #expect(cache.cachedKey(tenant: "acme", provider: "idp", kid: "acme-0") === kept)
                await cache.close()
            } cleanup: {
                await restarted.shutdown()
            }
        }
    }

    @Test("an applied reload (RELOADED) drops the copy: a tenant whose access was revoked is not answered from memory")
    func reload() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let cache = JWKSKeyCache(client: harness.client)
            #expect(await Self.live(cache))
            _ = try await cache.getKey(tenant: "acme", provider: "idp", kid: "acme-0")
            _ = try await cache.getKey(tenant: "beta", provider: "idp", kid: "beta-0")
            #expect(cache.count == 2)
            // acme is now only for uid 12345: no provider publishes anything, so only the reload itself can say.
            let revoked = Self.tenants.replacingOccurrences(of: "acme:\n", with: "acme:\n  allowed_uids: [12345]\n")
            let config = try ConfigLoader.load(
                text: ServerHarness.yaml(revoked).replacingOccurrences(of: "{{BASE}}", with: harness.issuer.baseURL)
                    .replacingOccurrences(of: "{{SOCKET}}", with: harness.socketPath),
                baseDirectory: harness.directory.path)
            _ = harness.engine.apply(config)
            #expect(await eventually { cache.count == 0 })
            #expect(cache.cachedKey(tenant: "acme", provider: "idp", kid: "acme-0") == nil)
            let refused = await #expect(throws: RPCError.self) {
                _ = try await cache.getKey(tenant: "acme", provider: "idp", kid: "acme-0")
            }
            #expect(refused?.code == .notFound)
            #expect(cache.isLive)
            await cache.close()
        }
    }

    @Test("8 tasks share one cache while keys rotate: every answer is the key its kid names, or NOT_FOUND once gone")
    func concurrentRotations() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let cache = JWKSKeyCache(client: harness.client, tenants: ["acme"])
            #expect(await Self.live(cache))
            let issuer = harness.issuer
            // Every key the issuer ever served, by kid (a kid is never reused for another key).
            let served = NIOLockedValueBox([String: String]())
            let removed = NIOLockedValueBox(Set<String>())
            let record: @Sendable () -> Void = {
                let keys = issuer.keys("acme")
                served.withLockedValue { map in for key in keys { map[key.kid] = key.json } }
            }
            record()
            // The kids the daemon has published (updated once a refresh returned): the ones the workers ask for.
            let published = NIOLockedValueBox(issuer.keys("acme").map(\.kid))
            let stop = ContinuousClock.now + .seconds(3)
            let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    var rotations = 0
                    while ContinuousClock.now < stop {
                        let leaving = issuer.keys("acme").last?.kid
                        issuer.rotate("acme")
                        record()
                        _ = try await harness.client.refresh(tenant: "acme", provider: "idp")
                        if let leaving { removed.withLockedValue { _ = $0.insert(leaving) } }
                        let now = issuer.keys("acme").map(\.kid)
                        published.withLockedValue { $0 = now }
                        rotations += 1
                        try await Task.sleep(for: .milliseconds(150))
                    }
                    return -rotations
                }
                for worker in 0..<8 {
                    group.addTask {
                        var count = 0
                        while ContinuousClock.now < stop {
                            let kids = published.withLockedValue { $0 }
                            let kid = kids[(count + worker) % kids.count]
                            do {
                                let key = try await cache.getKey(
                                    tenant: "acme", provider: worker % 2 == 0 ? "idp" : nil, kid: kid,
                                    timeout: .milliseconds(300))
                                let expected = served.withLockedValue { $0[kid] }
                                #expect(
                                    key.response.kid == kid
                                        && String(decoding: key.response.jwkJson, as: UTF8.self) == expected)
                            } catch let error as RPCError {
                                // Only a kid that left the issuer's set in a rotation may be missing.
                                let wasRemoved = issuer.keys("acme").contains { $0.kid == kid } == false
                                #expect(error.code == .notFound && wasRemoved, "\(kid): \(error)")
                            }
                            count += 1
                            // A hit does not suspend: let the rotating task have a thread of the pool.
                            await Task.yield()
                        }
                        return count
                    }
                }
                var total = 0
                var rotations = 0
                for try await result in group {
                    if result < 0 { rotations = -result } else { total += result }
                }
                #expect(rotations >= 5)
                return total
            }
            #expect(answers > 1_000)
            // Settled: no removed kid is answered, from memory or otherwise.
            for kid in removed.withLockedValue({ $0 }) {
                #expect(cache.cachedKey(tenant: "acme", provider: "idp", kid: kid) == nil)
                #expect(cache.cachedKey(tenant: "acme", kid: kid) == nil)
            }
            await cache.close()
        }
    }
}

/// The consistency rules of the copy, as a value.
@Suite("Key cache state")
struct KeyCacheStateTests {
    static func answer(_ kid: String) -> KeyAnswer {
        var response = Jwksd_V1_GetKeyResponse()
        response.kid = kid
        response.provider = "idp"
        return KeyAnswer(response, tenant: "acme", provider: "idp", alg: "")
    }

    @Test("an answer is kept only while live and when no event or resubscription came between ask and answer")
    func tickets() throws {
        var state = KeyCacheState()
        let epoch = state.begin()
        #expect(state.ticket(tenant: "acme", followed: []) == nil, "not live before the REQUEST is written")
        state.goLive(epoch)
        let ticket = try #require(state.ticket(tenant: "acme", followed: []))
        #expect(state.ticket(tenant: "beta", followed: ["acme"]) == nil, "unfollowed tenants are not kept")

        var event = Jwksd_V1_WatchEvent()
        event.tenant = "acme"
        event.provider = "idp"
        event.kind = .keysChanged
        state.apply(event, epoch: epoch)
        state.keep(Self.answer("k"), kid: "k", ticket: ticket, limit: 10)
        #expect(state.count == 0, "the event came after the ask: the answer may predate it")

        let fresh = try #require(state.ticket(tenant: "acme", followed: []))
        state.keep(Self.answer("k"), kid: "k", ticket: fresh, limit: 10)
        #expect(state.count == 1)
        state.end(epoch)
        #expect(state.count == 0 && !state.live)
        state.keep(Self.answer("k"), kid: "k", ticket: fresh, limit: 10)
        #expect(state.count == 0, "an answer of an ended subscription is not kept")
        // A late delivery of the old subscription changes nothing in the next one.
        let next = state.begin()
        state.goLive(next)
        let third = try #require(state.ticket(tenant: "acme", followed: []))
        state.apply(event, epoch: epoch)
        state.keep(Self.answer("k"), kid: "k", ticket: third, limit: 10)
        #expect(state.count == 1)
    }

    @Test("entries are bounded")
    func bounded() throws {
        var state = KeyCacheState()
        state.goLive(state.begin())
        let ticket = try #require(state.ticket(tenant: "acme", followed: []))
        for index in 0..<50 {
            state.keep(Self.answer("k\(index)"), kid: "k\(index)", ticket: ticket, limit: 8)
        }
        #expect(state.count == 8)
    }
}
