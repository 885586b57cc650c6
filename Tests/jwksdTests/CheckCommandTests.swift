import ArgumentParser
import Foundation
import Testing

@testable import jwksd

@Suite("jwksd check")
struct CheckCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("the example registry passes")
    func example() {
        let report = CheckReport.run(
            path: Self.root.appendingPathComponent("examples/tenants.yaml").path, printEffective: false)
        #expect(report == CheckReport(output: "ok: 2 tenants, 5 providers", errors: "", exitCode: 0))
    }

    @Test("a bad file prints every problem and exits 1")
    func badFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-check-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml")
        try "version: 1\nserver:\n  max_conections: 5\ndefaults:\n  min_ttl: 2d\n".write(
            to: file, atomically: true, encoding: .utf8)
        let report = CheckReport.run(path: file.path, printEffective: false)
        #expect(report.exitCode == 1)
        #expect(report.output.isEmpty)
        #expect(
            report.errors.split(separator: "\n").map(String.init) == [
                "\(file.path):3:3: server.max_conections: unknown key (did you mean \"max_connections\"?)",
                "\(file.path):5:3: defaults.min_ttl: must be <= max_ttl (24h)",
                "\(file.path): 2 problems; nothing was applied",
            ])
    }

    @Test("--print shows the effective configuration, which checks again")
    func printEffective() throws {
        let report = CheckReport.run(
            path: Self.root.appendingPathComponent("examples/tenants.yaml").path, printEffective: true)
        #expect(report.exitCode == 0)
        #expect(report.output.contains("min_rsa_bits: 2048"))
        #expect(report.output.hasSuffix("ok: 2 tenants, 5 providers"))
    }

    @Test("an HTTP endpoint on TCP with ACL'd tenants passes with a warning naming them")
    func httpWarning() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-check-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("http.yaml")
        let tenants = """
            tenants:
              open: { providers: { p: { jwks_uri: "https://a.example.com/k" } } }
              closed: { allowed_uids: [1000], providers: { p: { jwks_uri: "https://a.example.com/k" } } }
            """
        try "version: 1\nserver:\n  http: { listen: 127.0.0.1:9465 }\n\(tenants)\n".write(
            to: file, atomically: true, encoding: .utf8)
        let report = CheckReport.run(path: file.path, printEffective: false)
        #expect(report.exitCode == 0 && report.output == "ok: 2 tenants, 2 providers")
        #expect(report.errors.contains("warning: server.http listens on TCP"))
        #expect(report.errors.contains("(404): closed;"))
        try "version: 1\nserver:\n  http: { listen: \"unix:./h.sock\" }\n\(tenants)\n".write(
            to: file, atomically: true, encoding: .utf8)
        #expect(CheckReport.run(path: file.path, printEffective: false).errors.isEmpty)
        try "version: 1\nserver:\n  export: { dir: ./jwks }\n\(tenants)\n".write(
            to: file, atomically: true, encoding: .utf8)
        let export = CheckReport.run(path: file.path, printEffective: false)
        #expect(export.exitCode == 0 && export.errors.contains("server.export does not write tenants"))
        #expect(export.errors.hasSuffix(": closed"))
    }

    @Test("the command line parses --config and a positional file, not both")
    func parsing() throws {
        #expect(throws: Never.self) { try CheckCommand.parse(["--config", "a.yaml"]) }
        #expect(throws: Never.self) { try CheckCommand.parse(["a.yaml"]) }
        #expect(throws: (any Error).self) { try CheckCommand.parse(["--config", "a.yaml", "b.yaml"]) }
        #expect(throws: (any Error).self) { try CheckCommand.parse([]) }
    }
}
