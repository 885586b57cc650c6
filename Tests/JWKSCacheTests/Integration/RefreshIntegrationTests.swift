import DevIssuer
import Foundation
import JWKS
import JWKSCache
import JWKSTestSupport
import Testing

/// The refresh engine against a DevIssuer on the loopback, time driven by a manual clock.
@Suite("Refresh engine against DevIssuer", .serialized)
struct RefreshIntegrationTests {
    /// A registry of `providers` for tenant acme. Loopback fetches get 30 s per attempt unless `defaults` or a
    /// provider says otherwise: on a loaded 2-core machine a fetch waiting for a thread must not read as the
    /// provider timing out (as in the server harness).
    static func yaml(_ providers: String, defaults: String = "") -> String {
        let defaults =
            defaults.contains("attempt_timeout")
            ? defaults
            : defaults.contains("retry: {")
                ? defaults.replacingOccurrences(of: "retry: {", with: "retry: { attempt_timeout: 30s,")
                : defaults + "\nretry: { attempt_timeout: 30s }"
        return """
            version: 1
            defaults:
              require_https: false
              allow_private_networks: true
              prefetch_jitter: 0s
            \(defaults.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            tenants:
              acme:
                providers:
            \(providers.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
            """
    }

    @Test("first load, then every revalidation is a 304: zero full downloads while keys are unchanged")
    func revalidation() async throws {
        try await withHarness(
            try await EngineHarness(yaml: Self.yaml("idp: { issuer: \"{{BASE}}/acme\" }")) {
                $0.addIssuer("acme", kinds: [.p256, .ed25519], maxAge: 300)
            }
        ) { harness in
            let loaded = await harness.recorder.first(from: 0) { $0.isPublished }
            #expect(loaded?.kind == .published(changed: true, keys: 2, dropped: 0))
            let outcome = await harness.engine.lookup(
                tenant: "acme", provider: "idp", kid: "acme-0", alg: nil, deadline: harness.farDeadline)
            guard case .found(let keys, _) = outcome else { Issue.record("expected found, got \(outcome)"); return }
            #expect(keys.first?.kid == "acme-0")

            for cycle in 1...5 {
                let mark = harness.recorder.count
                harness.clock.advance(by: .seconds(270))
                let event = await harness.recorder.first(from: mark) {
                    $0.isNotModified || $0.isPublished || $0.failure != nil
                }
                #expect(event?.isNotModified == true, "cycle \(cycle): \(String(describing: event))")
            }
            let counts = harness.downloads("/acme/jwks")
            #expect(counts.full == 1)
            #expect(counts.notModified == 5)
            let conditional = harness.issuer.requests(to: "/acme/jwks").dropFirst()
            #expect(conditional.allSatisfy { $0.ifNoneMatch != nil && $0.ifModifiedSince != nil })
            let first = try #require(harness.issuer.requests(to: "/acme/jwks").first)
            #expect(first.accept == "application/jwk-set+json, application/json")
            #expect(first.userAgent == "jwksd/\(JWKSDVersion.current)")
            // The discovery document (max-age 300, on the engine's clock) is read when it has expired: at 0 s,
            // and with the refreshes at 540 s and 1,080 s.
            #expect(harness.issuer.requests(to: "/acme/.well-known/openid-configuration").count == 3)
        }
    }

    @Test("refresh happens refresh_early before expiry without lookups, and picks up a rotation")
    func earlyRefreshAndRotation() async throws {
        try await withHarness(
            try await EngineHarness(yaml: Self.yaml("idp: { jwks_uri: \"{{BASE}}/acme/jwks\" }")) {
                $0.addIssuer("acme", kinds: [.p256], maxAge: 120)
            }
        ) { harness in
            _ = await harness.recorder.first(from: 0) { $0.isPublished }
            let newKey = try #require(harness.issuer.rotate("acme"))
            let mark = harness.recorder.count
            harness.clock.advance(by: .seconds(89))
            let early = await harness.recorder.first(from: mark, guardTime: .milliseconds(300)) { $0.isPublished }
            #expect(early == nil, "no refresh before expiry − refresh_early")
            harness.clock.advance(by: .seconds(1))
            let rotated = await harness.recorder.first(from: mark) { $0.isPublished }
            #expect(rotated?.kind == .published(changed: true, keys: 1, dropped: 0))
            let fetchesBefore = harness.issuer.requests(to: "/acme/jwks").count
            let outcome = await harness.engine.lookup(
                tenant: "acme", provider: "idp", kid: newKey.kid, alg: "ES256", deadline: harness.farDeadline)
            guard case .found = outcome else { Issue.record("expected the rotated key, got \(outcome)"); return }
            #expect(harness.issuer.requests(to: "/acme/jwks").count == fetchesBefore)
        }
    }

    @Test("outage: keys served, stale after expiry, dropped after the stale limit; backoff grows and caps; recovery")
    func outage() async throws {
        try await withHarness(
            try await EngineHarness(
                yaml: Self.yaml(
                    "idp: { jwks_uri: \"{{BASE}}/acme/jwks\" }",
                    defaults: "stale_while_error: 5m\nretry: { initial_backoff: 1s, max_backoff: 30s, jitter: none }")
            ) { $0.addIssuer("acme", kinds: [.ed25519], maxAge: 60) }
        ) { harness in
            _ = await harness.recorder.first(from: 0) { $0.isPublished }
            harness.issuer.inject(.status(503), at: "/acme/jwks")
            let entry = try #require(harness.engine.entry(tenant: "acme", provider: "idp"))

            var failureTimes: [ManualClock.Instant] = []
            var mark = harness.recorder.count
            harness.clock.advance(by: .seconds(30))
            while true {
                guard let event = await harness.recorder.first(from: mark, where: { $0.failure != nil }) else {
                    Issue.record("no failure event"); return
                }
                mark = harness.recorder.count
                failureTimes.append(harness.clock.now)
                #expect(event.failure?.httpStatus == 503)
                let now = harness.clock.now
                let standing = entry.snapshot.standing(at: now)
                if now < .init(offset: .seconds(60)) {
                    #expect(standing == .fresh && event.keptKeys == true)
                } else if now < .init(offset: .seconds(360)) {
                    #expect(standing == .stale && event.keptKeys == true)
                    let outcome = await harness.engine.lookup(
                        tenant: "acme", provider: "idp", kid: "acme-0", alg: nil, deadline: harness.farDeadline)
                    guard case .found(_, let snapshot) = outcome else {
                        Issue.record("stale keys must be served"); return
                    }
                    #expect(snapshot.standing(at: now) == .stale)
                } else {
                    #expect(event.keptKeys == false)
                    break
                }
                guard let next = harness.engine.scheduler.deadline(of: entry.key) else {
                    Issue.record("no retry planned"); return
                }
                harness.clock.advance(to: next)
            }
            let gaps = zip(failureTimes, failureTimes.dropFirst()).map { $0.duration(to: $1) }
            #expect(Array(gaps.prefix(5)) == [1, 2, 4, 8, 16].map { Duration.seconds($0) })
            #expect(gaps.dropFirst(5).allSatisfy { $0 == .seconds(30) })
            let outcome = await harness.engine.lookup(
                tenant: "acme", provider: "idp", kid: "acme-0", alg: nil, deadline: harness.farDeadline)
            guard case .failed(.unavailable(_, let lastError)) = outcome else {
                Issue.record("expected unavailable, got \(outcome)"); return
            }
            #expect(lastError?.httpStatus == 503)

            harness.issuer.clearFaults()
            mark = harness.recorder.count
            harness.clock.advance(by: .seconds(30))
            let recovered = await harness.recorder.first(from: mark) { $0.isPublished }
            #expect(recovered != nil)
            let after = await harness.engine.lookup(
                tenant: "acme", provider: "idp", kid: "acme-0", alg: nil, deadline: harness.farDeadline)
            guard case .found = after else { Issue.record("expected recovery, got \(after)"); return }
        }
    }

    @Test("1,000 lookups for random unknown kids cause at most one fetch per cooldown; a real new kid is still found")
    func kidMissStorm() async throws {
        try await withHarness(
            try await EngineHarness(
                yaml: Self.yaml("idp: { jwks_uri: \"{{BASE}}/acme/jwks\", kid_miss_cooldown: 30s }")
            ) {
                $0.addIssuer("acme", kinds: [.p256], maxAge: 3_600)
            }
        ) { harness in
            _ = await harness.recorder.first(from: 0) { $0.isPublished }
            let engine = harness.engine
            let deadline = harness.farDeadline
            let notFound = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<1_000 {
                    group.addTask {
                        let outcome = await engine.lookup(
                            tenant: "acme", provider: "idp", kid: "random-\(index)", alg: nil, deadline: deadline)
                        if case .failed(.kidNotFound) = outcome { return true }
                        return false
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(notFound == 1_000)
            #expect(harness.issuer.requests(to: "/acme/jwks").count <= 2)
            let afterStorm = harness.issuer.requests(to: "/acme/jwks").count
            _ = await engine.lookup(tenant: "acme", provider: "idp", kid: "random-0", alg: nil, deadline: deadline)
            #expect(harness.issuer.requests(to: "/acme/jwks").count == afterStorm, "negatively cached")

            let rotated = try #require(harness.issuer.rotate("acme"))
            harness.clock.advance(by: .seconds(30))
            let outcome = await engine.lookup(
                tenant: "acme", provider: "idp", kid: rotated.kid, alg: nil, deadline: deadline)
            guard case .found(let keys, _) = outcome else { Issue.record("rotated kid not found: \(outcome)"); return }
            #expect(keys.first?.kid == rotated.kid)
            #expect(harness.issuer.requests(to: "/acme/jwks").count == afterStorm + 1)
        }
    }

    @Test("one bad key does not lose the set; a set with no usable key keeps the previous keys")
    func badKeys() async throws {
        try await withHarness(
            try await EngineHarness(yaml: Self.yaml("idp: { jwks_uri: \"{{BASE}}/acme/jwks\" }")) {
                $0.addIssuer("acme", kinds: [.p256, .ed25519], maxAge: 60)
                $0.inject(.oneBadKey, at: "/acme/jwks", times: 1)
            }
        ) { harness in
            let loaded = await harness.recorder.first(from: 0) { $0.isPublished }
            #expect(loaded?.kind == .published(changed: true, keys: 2, dropped: 1))
            harness.issuer.inject(.noUsableKeys, at: "/acme/jwks", times: 1)
            let mark = harness.recorder.count
            harness.clock.advance(by: .seconds(30))
            let failed = await harness.recorder.first(from: mark) { $0.failure != nil }
            #expect(failed?.failure?.code == .noUsableKeys)
            #expect(failed?.keptKeys == true)
            let outcome = await harness.engine.lookup(
                tenant: "acme", provider: "idp", kid: "acme-1", alg: nil, deadline: harness.farDeadline)
            guard case .found = outcome else { Issue.record("previous keys must stay: \(outcome)"); return }
        }
    }

    @Test("a first load of only private keys is a failure, not a set")
    func privateKeysOnly() async throws {
        try await withHarness(
            try await EngineHarness(yaml: Self.yaml("idp: { jwks_uri: \"{{BASE}}/acme/jwks\" }")) {
                $0.addIssuer("acme", kinds: [.p256], maxAge: 60)
                $0.inject(.noUsableKeys, at: "/acme/jwks")
            }
        ) { harness in
            let failed = await harness.recorder.first(from: 0) { $0.failure != nil }
            #expect(failed?.failure?.code == .noUsableKeys)
            #expect(failed?.failure?.message.contains("private key material (d)") == true)
            #expect(failed?.keptKeys == false)
        }
    }
}
