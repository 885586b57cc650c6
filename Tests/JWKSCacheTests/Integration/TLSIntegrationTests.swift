import DevIssuer
import Foundation
import JWKSCache
import JWKSTestSupport
import Testing

/// HTTPS against a DevIssuer with a private CA: `ca_file`, the system trust store, and https→http redirects.
@Suite("HTTPS and ca_file against DevIssuer", .serialized)
struct TLSIntegrationTests {
    @Test("a private CA is trusted only through ca_file; a redirect from https to http is refused")
    func privateCA() async throws {
        let certificates = try DevCertificates.make()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-tls-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let caFile = directory.appendingPathComponent("ca.pem")
        try certificates.caPEM.write(to: caFile, atomically: true, encoding: .utf8)
        let plain = try await DevIssuer.start()
        plain.addIssuer("acme", kinds: [.p256], maxAge: 300)
        let yaml = """
            version: 1
            defaults: { allow_private_networks: true }
            tenants:
              acme:
                providers:
                  trusted: { jwks_uri: "{{BASE}}/acme/jwks", ca_file: "\(caFile.path)" }
                  untrusted: { jwks_uri: "{{BASE}}/acme/jwks", retry: { attempt_timeout: 1s } }
                  downgrade: { jwks_uri: "{{BASE}}/down/jwks", ca_file: "\(caFile.path)" }
            """
        let harness = try await EngineHarness(yaml: yaml, tls: certificates) { issuer in
            issuer.addIssuer("acme", kinds: [.p256, .ed25519], maxAge: 300)
            issuer.inject(.redirect(to: plain.jwksURL("acme")), at: "/down/jwks")
        }
        do {
            try await withHarness(harness) { harness in
                #expect(harness.issuer.baseURL.hasPrefix("https://"))
                let trusted = await harness.recorder.first(from: 0) {
                    $0.key.provider == "trusted" && ($0.isPublished || $0.failure != nil)
                }
                #expect(trusted?.kind == .published(changed: true, keys: 2, dropped: 0))
                let untrusted = await harness.recorder.first(from: 0) {
                    $0.key.provider == "untrusted" && $0.failure != nil
                }
                #expect(untrusted?.failure?.code == .transport)
                let downgrade = await harness.recorder.first(from: 0) {
                    $0.key.provider == "downgrade" && $0.failure != nil
                }
                #expect(downgrade?.failure?.code == .redirect)
                #expect(downgrade?.failure?.message.contains("http:// while require_https is on") == true)
                #expect(plain.requestLog.isEmpty)
            }
        } catch {
            try? await plain.shutdown()
            throw error
        }
        try await plain.shutdown()
    }
}
