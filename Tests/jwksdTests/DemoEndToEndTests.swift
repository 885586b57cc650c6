import Foundation
import Testing

/// `jwksd demo --once` runs the whole tour against its own DevIssuer and exits.
@Suite("jwksd demo end to end")
struct DemoEndToEndTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("the tour shows loads, a lookup, a rotation, a stale key in an outage and a bench")
    func tour() async throws {
        let demo = Self.repository.appendingPathComponent("examples/demo.yaml").path
        let run = try await ServeEndToEndTests.run(["demo", "--once", "--config", demo, "--bench-duration", "300ms"])
        #expect(run.status == 0, "\(run.output)\n\(run.errors)")
        let output = run.output
        #expect(output.contains("serves 5 providers of 3 tenants"))
        #expect(output.contains("initech  broken    empty  0"), "\(output)")
        #expect(output.contains("RSA RS256 key from acme/login"))
        #expect(output.contains("found acme-3 (RSA RS256)") && output.contains("after 1 refetch"))
        #expect(output.contains("globex-0 still answers, stale: true"))
        #expect(output.contains("stale: false"))
        #expect(output.contains("errors: none"))
        #expect(!output.contains("the demo stopped"))
    }

    @Test("demo.yaml is a valid registry on its own")
    func demoRegistryChecks() async throws {
        let demo = Self.repository.appendingPathComponent("examples/demo.yaml").path
        let check = try await ServeEndToEndTests.run(["check", "--config", demo])
        #expect(check.output == "ok: 3 tenants, 5 providers\n")
    }
}
