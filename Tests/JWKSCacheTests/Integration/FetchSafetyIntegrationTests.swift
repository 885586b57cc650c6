import DevIssuer
import Foundation
import JWKS
import JWKSCache
import JWKSTestSupport
import JWS
import Testing

/// Fetch safety and the other sources, against DevIssuer on the loopback.
@Suite("Fetch safety and sources against DevIssuer", .serialized)
struct FetchSafetyIntegrationTests {
    static func yaml(_ providers: String, defaults: String = "") -> String {
        RefreshIntegrationTests.yaml(providers, defaults: defaults)
    }

    @Test("a redirect to a host outside allowed_domains is refused; one inside is followed")
    func redirectAllowlist() async throws {
        try await withHarness(
            try await EngineHarness(
                yaml: Self.yaml(
                    """
                    inside: { jwks_uri: "{{BASE}}/start/jwks" }
                    outside: { jwks_uri: "{{BASE}}/away/jwks" }
                    """, defaults: "allowed_domains: [\"127.0.0.1\"]")
            ) { issuer in
                issuer.addIssuer("acme", kinds: [.p256], maxAge: 300)
                issuer.inject(.redirect(to: issuer.jwksURL("acme")), at: "/start/jwks")
                issuer.inject(
                    .redirect(to: issuer.jwksURL("acme").replacingOccurrences(of: "127.0.0.1", with: "localhost")),
                    at: "/away/jwks")
            }
        ) { harness in
            let inside = await harness.recorder.first(from: 0) {
                $0.key.provider == "inside" && ($0.isPublished || $0.failure != nil)
            }
            #expect(inside?.isPublished == true)
            let outside = await harness.recorder.first(from: 0) { $0.key.provider == "outside" && $0.failure != nil }
            #expect(outside?.failure?.code == .redirect)
            #expect(
                outside?.failure?.message.contains("host \"localhost\" is not in allowed_domains (127.0.0.1)") == true)
            #expect(harness.issuer.requestLog.allSatisfy { $0.path != "/acme/jwks" || $0.status == 200 })
        }
    }

    @Test("too many redirects are refused")
    func redirectLoop() async throws {
        try await withHarness(
            try await EngineHarness(
                yaml: Self.yaml("idp: { jwks_uri: \"{{BASE}}/loop/jwks\", max_redirects: 2 }")
            ) { issuer in
                issuer.inject(.redirect(to: "\(issuer.baseURL)/loop/jwks"), at: "/loop/jwks")
            }
        ) { harness in
            let failed = await harness.recorder.first(from: 0) { $0.failure != nil }
            #expect(failed?.failure?.code == .redirect)
            #expect(failed?.failure?.message.contains("more than 2 redirects") == true)
            #expect(harness.issuer.requests(to: "/loop/jwks").count == 3)
        }
    }

    @Test("an oversized body is refused without reading it all, streamed or announced")
    func oversized() async throws {
        try await withHarness(
            try await EngineHarness(
                yaml: Self.yaml(
                    """
                    streamed: { jwks_uri: "{{BASE}}/streamed/jwks", max_response_bytes: 65536 }
                    announced: { jwks_uri: "{{BASE}}/announced/jwks", max_response_bytes: 65536 }
                    """)
            ) { issuer in
                issuer.inject(.oversized(bytes: 64 * 1_048_576, announced: false), at: "/streamed/jwks")
                issuer.inject(.oversized(bytes: 64 * 1_048_576, announced: true), at: "/announced/jwks")
            }
        ) { harness in
            for provider in ["streamed", "announced"] {
                let failed = await harness.recorder.first(from: 0) { $0.key.provider == provider && $0.failure != nil }
                #expect(failed?.failure?.code == .bodyTooLarge, "\(provider)")
            }
            #expect(harness.issuer.fillerBytesSent < 16 * 1_048_576, "sent \(harness.issuer.fillerBytesSent) bytes")
        }
    }

    @Test("discovery with a mismatched issuer is refused")
    func issuerMismatch() async throws {
        try await withHarness(
            try await EngineHarness(yaml: Self.yaml("idp: { issuer: \"{{BASE}}/acme\" }")) { issuer in
                issuer.addIssuer("acme", kinds: [.p256], maxAge: 300)
                issuer.inject(.issuerMismatch, at: issuer.discoveryPath("acme"))
            }
        ) { harness in
            let failed = await harness.recorder.first(from: 0) { $0.failure != nil }
            #expect(failed?.failure?.code == .discovery)
            #expect(failed?.failure?.message.contains("does not equal the configured") == true)
            #expect(harness.issuer.requests(to: "/acme/jwks").isEmpty)
        }
    }

    @Test("a jwks_uri that starts answering 404 makes discovery run again")
    func rediscoveryOn404() async throws {
        try await withHarness(
            try await EngineHarness(yaml: Self.yaml("idp: { issuer: \"{{BASE}}/acme\" }")) { issuer in
                issuer.addIssuer("acme", kinds: [.p256], maxAge: 3_600)
            }
        ) { harness in
            _ = await harness.recorder.first(from: 0) { $0.isPublished }
            harness.issuer.inject(.status(404), at: "/acme/jwks", times: 1)
            let mark = harness.recorder.count
            _ = await harness.engine.refresh(tenant: "acme", provider: "idp", deadline: harness.farDeadline)
            let event = await harness.recorder.first(from: mark) {
                $0.isPublished || $0.isNotModified || $0.failure != nil
            }
            #expect(event?.failure == nil, "\(String(describing: event))")
            #expect(harness.issuer.requests(to: harness.issuer.discoveryPath("acme")).count == 2)
        }
    }

    @Test("a slow server hits the attempt timeout")
    func attemptTimeout() async throws {
        try await withHarness(
            try await EngineHarness(
                yaml: Self.yaml("idp: { jwks_uri: \"{{BASE}}/acme/jwks\", retry: { attempt_timeout: 200ms } }")
            ) { issuer in
                issuer.addIssuer("acme", kinds: [.p256], maxAge: 300)
                issuer.inject(.delay(.seconds(3)), at: "/acme/jwks", times: 1)
            }
        ) { harness in
            let started = ContinuousClock.now
            let failed = await harness.recorder.first(from: 0) { $0.failure != nil || $0.isPublished }
            #expect(failed?.failure?.code == .timeout)
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    @Test("a refused connection fails the attempt at once, not at the attempt timeout")
    func refusedConnection() async throws {
        // A port nobody listens on: bind one, note it, close it.
        let closed = try await DevIssuer.start()
        let port = closed.port
        try await closed.shutdown()
        try await withHarness(
            try await EngineHarness(
                yaml: Self.yaml(
                    "idp: { jwks_uri: \"http://127.0.0.1:\(port)/jwks\", retry: { attempt_timeout: 1m } }")
            ) { _ in }
        ) { harness in
            let started = ContinuousClock.now
            let failed = await harness.recorder.first(from: 0) { $0.failure != nil || $0.isPublished }
            #expect(failed?.failure?.code == .transport, "\(String(describing: failed))")
            #expect(ContinuousClock.now - started < .seconds(30), "the attempt waited for its deadline")
        }
    }

    @Test("connection resets, truncated bodies and invalid JSON are failures with their cause")
    func brokenResponses() async throws {
        try await withHarness(
            try await EngineHarness(
                yaml: Self.yaml(
                    """
                    reset: { jwks_uri: "{{BASE}}/reset/jwks" }
                    truncated: { jwks_uri: "{{BASE}}/acme/jwks" }
                    garbage: { jwks_uri: "{{BASE}}/garbage/jwks" }
                    throttled: { jwks_uri: "{{BASE}}/throttled/jwks", retry: { jitter: none } }
                    """)
            ) { issuer in
                issuer.addIssuer("acme", kinds: [.p256], maxAge: 300)
                issuer.inject(.reset, at: "/reset/jwks")
                issuer.inject(.truncated, at: "/acme/jwks")
                issuer.inject(.invalidJSON, at: "/garbage/jwks")
                issuer.inject(.status(429, retryAfter: 20), at: "/throttled/jwks")
            }
        ) { harness in
            let expected: [String: FetchFailure.Code] = [
                "reset": .transport, "truncated": .transport, "garbage": .invalidDocument, "throttled": .httpStatus,
            ]
            for (provider, code) in expected {
                let failed = await harness.recorder.first(from: 0) { $0.key.provider == provider && $0.failure != nil }
                #expect(failed?.failure?.code == code, "\(provider): \(String(describing: failed))")
            }
            let throttled = try #require(harness.engine.entry(tenant: "acme", provider: "throttled"))
            #expect(
                harness.engine.scheduler.deadline(of: throttled.key) == harness.clock.now.advanced(by: .seconds(20)))
        }
    }

    @Test("500 providers on one DevIssuer load with at most max_concurrent_fetches in flight")
    func manyProviders() async throws {
        let providers = (0..<500).map { "p\($0): { jwks_uri: \"{{BASE}}/idp\($0 % 10)/jwks\" }" }.joined(
            separator: "\n")
        let yaml = Self.yaml(providers).replacingOccurrences(
            of: "version: 1\n", with: "version: 1\nserver: { max_concurrent_fetches: 4 }\n")
        try await withHarness(
            try await EngineHarness(yaml: yaml) { issuer in
                for index in 0..<10 { issuer.addIssuer("idp\(index)", kinds: [.ed25519], maxAge: 300) }
            }
        ) { harness in
            let loaded = await harness.recorder.count(from: 0, reaching: 500) { $0.isPublished }
            #expect(loaded)
            #expect(harness.engine.limiter.peakInFlight <= 4)
            #expect(harness.engine.limiter.peakInFlight >= 2)
            #expect(harness.issuer.requestLog.filter { $0.status == 200 }.count == 500)
        }
    }

    @Test(
        "a file provider is re-read when its content changes, unchanged files are 'not modified', and each published set carries its verification keys"
    )
    func fileSource() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-file-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("keys.json")
        try Data(try CorpusFixture.bytes("google-jwks-v3-2026-08-12.json")).write(to: file)
        try await withHarness(try await EngineHarness(yaml: Self.yaml("disk: { file: \"\(file.path)\" }")) { _ in }) {
            harness in
            let loaded = await harness.recorder.first(from: 0) { $0.isPublished }
            #expect(loaded?.kind == .published(changed: true, keys: 4, dropped: 0))
            let entry = try #require(harness.engine.entry(tenant: "acme", provider: "disk"))
            // Every published set carries its keys ready to verify tokens, in document order.
            #expect(entry.snapshot.verificationKeys.map(\.kid) == entry.snapshot.record?.keySet.keys.map(\.kid))
            #expect(entry.snapshot.verificationKeys.count == 4)
            var mark = harness.recorder.count
            harness.clock.advance(by: .seconds(30))
            let unchanged = await harness.recorder.first(from: mark) { $0.isNotModified || $0.isPublished }
            #expect(unchanged?.isNotModified == true)
            try Data(try CorpusFixture.bytes("google-jwks-v3-2026-08-19.json")).write(to: file)
            mark = harness.recorder.count
            harness.clock.advance(by: .seconds(30))
            let changed = await harness.recorder.first(from: mark) { $0.isNotModified || $0.isPublished }
            #expect(changed?.kind == .published(changed: true, keys: 5, dropped: 0))
            #expect(entry.snapshot.verificationKeys.map(\.kid) == entry.snapshot.record?.keySet.keys.map(\.kid))
            #expect(entry.snapshot.verificationKeys.count == 5)
            // An encryption key is served by GetKey but never verifies: left out of the verification keys.
            try Data(try CorpusFixture.bytes("keycloak-jwks-sig-enc-nvidia.json")).write(to: file)
            mark = harness.recorder.count
            harness.clock.advance(by: .seconds(30))
            let mixed = await harness.recorder.first(from: mark) { $0.isNotModified || $0.isPublished }
            #expect(mixed?.kind == .published(changed: true, keys: 2, dropped: 0))
            #expect(entry.snapshot.verificationKeys.map(\.kid) == ["2qPROcQfHMCXUi4rKt-CRB5iG4Z-5rfbP7zHOsxWA28"])
            #expect(entry.snapshot.verificationKeys.first?.algorithms == [.rs256])
            try FileManager.default.removeItem(at: file)
            mark = harness.recorder.count
            harness.clock.advance(by: .seconds(30))
            let missing = await harness.recorder.first(from: mark) { $0.failure != nil || $0.isPublished }
            #expect(missing?.failure?.code == .file)
            #expect(missing?.keptKeys == true)
        }
    }

    @Test("real provider documents served verbatim: Google's rotation series and Microsoft's 15 KB set")
    func corpusDocuments() async throws {
        try await withHarness(
            try await EngineHarness(
                yaml: Self.yaml(
                    """
                    google: { jwks_uri: "{{BASE}}/oauth2/v3/certs" }
                    microsoft: { jwks_uri: "{{BASE}}/common/discovery/v2.0/keys" }
                    """)
            ) { issuer in
                issuer.serve(
                    path: "/oauth2/v3/certs", body: try! CorpusFixture.bytes("google-jwks-v3-2026-08-12.json"),
                    headers: [("Cache-Control", "public, max-age=19800, must-revalidate, no-transform")])
                issuer.serve(path: "/common/discovery/v2.0/keys", body: try! CorpusFixture.bytes("microsoft-jwks.json"))
            }
        ) { harness in
            let google = await harness.recorder.first(from: 0) { $0.key.provider == "google" && $0.isPublished }
            #expect(google?.kind == .published(changed: true, keys: 4, dropped: 0))
            let microsoft = await harness.recorder.first(from: 0) { $0.key.provider == "microsoft" && $0.isPublished }
            #expect(microsoft?.kind == .published(changed: true, keys: 9, dropped: 0))
            let status = harness.engine.status(wallNow: 0)
            let googleStatus = try #require(status.first { $0.key.provider == "google" })
            #expect(googleStatus.expiresAt == googleStatus.validatedAt! + 19_800)

            harness.issuer.serve(
                path: "/oauth2/v3/certs", body: try CorpusFixture.bytes("google-jwks-v3-2026-08-19.json"))
            let mark = harness.recorder.count
            let added = "d6a0e659c3392d9e592a4b0ad88e7b2b88076909"
            let outcome = await harness.engine.lookup(
                tenant: "acme", provider: nil, kid: added, alg: "RS256", deadline: harness.farDeadline)
            guard case .found(let keys, let snapshot) = outcome else {
                Issue.record("new Google kid: \(outcome)"); return
            }
            #expect(keys.count == 1)
            #expect(snapshot.key.provider == "google")
            let original = try CorpusFixture.bytes("google-jwks-v3-2026-08-19.json")
            #expect(original.firstRange(of: keys[0].json) != nil)
            #expect(await harness.recorder.first(from: mark) { $0.key.provider == "google" && $0.isChanged } != nil)
        }
    }
}

/// Corpus files copied into this test target.
enum CorpusFixture {
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(name)
        return Array(try Data(contentsOf: url))
    }
}
