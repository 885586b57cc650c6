import DevIssuer
import Foundation
import JWKS
import JWKSConfig
import JWKSTestSupport
import Testing

@testable import JWKSCache

/// Providers and key files that misbehave on purpose: each case failed before its fix.
@Suite("Hostile providers and key files", .serialized)
struct HostileProviderTests {
    @Test("a body that drips a byte a second fails at attempt_timeout and gives its fetch permit back")
    func drippingBody() async throws {
        let yaml = RefreshIntegrationTests.yaml(
            """
            drip: { jwks_uri: "{{BASE}}/drip/jwks", retry: { attempt_timeout: 500ms } }
            other: { jwks_uri: "{{BASE}}/other/jwks" }
            """
        ).replacingOccurrences(of: "version: 1\n", with: "version: 1\nserver: { max_concurrent_fetches: 1 }\n")
        try await withHarness(
            try await EngineHarness(yaml: yaml) { issuer in
                issuer.addIssuer("drip", kinds: [.p256], maxAge: 300)
                issuer.addIssuer("other", kinds: [.p256], maxAge: 300)
                issuer.inject(.drip(every: .seconds(1)), at: "/drip/jwks")
            }
        ) { harness in
            let started = ContinuousClock.now
            let failed = await harness.recorder.first(from: 0) { $0.key.provider == "drip" && !$0.isFetchStarted }
            #expect(failed?.failure?.code == .timeout, "\(String(describing: failed))")
            // At attempt_timeout (500 ms), not at the end of the drip (minutes): 15 s leaves room for a busy machine.
            #expect(ContinuousClock.now - started < .seconds(15))
            // With one permit, the other provider loads only if the stalled fetch let go of it.
            let other = await harness.recorder.first(from: 0) { $0.key.provider == "other" && $0.isPublished }
            #expect(other != nil)
        }
    }

    @Test("a redirect to the metadata address is refused before any connection, with private networks allowed")
    func metadataRedirect() async throws {
        try await withHarness(
            try await EngineHarness(
                yaml: RefreshIntegrationTests.yaml("idp: { jwks_uri: \"{{BASE}}/acme/jwks\" }")
            ) {
                issuer in
                issuer.addIssuer("acme", kinds: [.p256], maxAge: 300)
                issuer.inject(.redirect(to: "http://169.254.169.254/latest/meta-data/"), at: "/acme/jwks")
            }
        ) { harness in
            let failed = await harness.recorder.first(from: 0) { $0.failure != nil || $0.isPublished }
            #expect(failed?.failure?.code == .address, "\(String(describing: failed))")
            #expect(failed?.failure?.message.contains("169.254.169.254") == true)
        }
    }

    @Test("a provider on the loopback is refused unless allow_private_networks is set")
    func loopbackNeedsOptIn() async throws {
        let yaml = RefreshIntegrationTests.yaml(
            """
            closed: { jwks_uri: "{{BASE}}/acme/jwks", allow_private_networks: false }
            open: { jwks_uri: "{{BASE}}/acme/jwks" }
            """)
        try await withHarness(try await EngineHarness(yaml: yaml) { $0.addIssuer("acme", kinds: [.p256], maxAge: 300) })
        { harness in
            let closed = await harness.recorder.first(from: 0) { $0.key.provider == "closed" && !$0.isFetchStarted }
            #expect(closed?.failure?.code == .address)
            let open = await harness.recorder.first(from: 0) { $0.key.provider == "open" && !$0.isFetchStarted }
            #expect(open?.isPublished == true)
            #expect(harness.issuer.requests(to: "/acme/jwks").count == 1)
        }
    }

    @Test("a key file behind a symlink is held to max_response_bytes like any other")
    func symlinkedKeyFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-link-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys =
            #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#
        let large = keys + String(repeating: " ", count: 8_000)
        try large.write(to: directory.appendingPathComponent("real.json"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("link.json").path, withDestinationPath: "real.json")
        let source = FileKeySource(path: directory.appendingPathComponent("link.json").path, maxBytes: 4_096)
        guard case .failed(let failure) = await source.fetch(validators: Validators()) else {
            Issue.record("an 8 KB file behind a symlink passed a 4 KB cap")
            return
        }
        #expect(failure.code == .bodyTooLarge)
        try keys.write(to: directory.appendingPathComponent("real.json"), atomically: true, encoding: .utf8)
        guard case .document(let body, _, _) = await source.fetch(validators: Validators()) else {
            Issue.record("a small file behind a symlink was not read")
            return
        }
        #expect(body == Array(keys.utf8))
    }

    @Test("provider content with control characters cannot forge a log line or status text")
    func controlCharacters() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-ctl-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try #"{"x\n2026-12-01T00:00:00+0000 error jwksd : forged":1}"#.write(
            to: directory.appendingPathComponent("keys.json"), atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(
            text: "version: 1\ntenants:\n  acme:\n    providers:\n      disk: { file: keys.json }\n",
            baseDirectory: directory.path)
        let engine = JWKSEngine(config: config, clock: ManualClock(), transport: NoTransport())
        let events = engine.events()
        engine.start()
        for await event in events where event.kind != .fetchStarted { break }
        let status = try #require(engine.status(wallNow: wallNow).first)
        let message = try #require(status.lastError?.message)
        #expect(message.contains("forged"))
        #expect(!message.contains("\n") && message.contains("\\n"))
    }

    @Test("ca_file resolves against the config file's directory; jwksd check's loader reports a missing one")
    func caFileResolution() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-ca-\(UUID())")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("certs"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try ConfigLoader.load(
            text: """
                version: 1
                tenants:
                  acme:
                    providers:
                      idp: { jwks_uri: "https://idp.example.com/jwks", ca_file: certs/ca.pem }
                """, baseDirectory: directory.path)
        let provider = try #require(config.tenants.first?.providers.first)
        let factory = KeySourceFactory(
            fetcher: HTTPFetcher(transport: NoTransport(), userAgent: "t"), resolvePath: { config.resolve($0) },
            clock: ManualClock())
        let source = try #require(factory.makeSource(for: provider) as? JWKSURISource)
        #expect(source.policy.caFile == directory.appendingPathComponent("certs/ca.pem").path)
        #expect(CAFile.problems(in: config).count == 1)
        #expect(CAFile.problems(in: config).first?.hasPrefix("tenants.acme.providers.idp.ca_file: ") == true)
        let certificates = try DevCertificates.make()
        try certificates.caPEM.write(
            to: directory.appendingPathComponent("certs/ca.pem"), atomically: true, encoding: .utf8)
        #expect(CAFile.problems(in: config).isEmpty)
    }
}

/// A transport for tests that never reach the network.
struct NoTransport: HTTPTransport {
    func get(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse {
        throw FetchFailure(code: .transport, message: "no network in this test")
    }
}
