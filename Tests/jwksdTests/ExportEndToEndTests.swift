import Foundation
import JWKSTestSupport
import Testing

/// `server.export` through the daemon: the files appear at start and follow a key change of the provider.
@Suite("File export end to end", .serialized)
struct ExportEndToEndTests {
    @Test("the daemon writes {tenant}/{provider}.json and {tenant}.json, and rewrites them when the keys change")
    func export() async throws {
        let directory = try DaemonDirectory(
            config: """
                version: 1
                server: { socket: ./jwksd.sock, export: { dir: ./jwks, file_mode: "0644" } }
                tenants:
                  acme:
                    providers:
                      disk: { file: ./keys.json }
                """)
        defer { directory.remove() }
        let daemon = try await ServeEndToEndTests.startDaemon(
            config: directory.config, environment: directory.environment, log: directory.log)
        defer { if daemon.isRunning { daemon.terminate() } }
        let providerFile = directory.url.appendingPathComponent("jwks/acme/disk.json").path
        let tenantFile = directory.url.appendingPathComponent("jwks/acme.json").path
        let read: @Sendable (String) -> String? = { path in
            (try? Data(contentsOf: URL(fileURLWithPath: path))).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(await eventually { read(providerFile) != nil }, "\(directory.logText)")
        #expect(read(providerFile) == ServeEndToEndTests.keys.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(read(tenantFile) == read(providerFile))
        #expect(FileMode(providerFile)?.permissions == 0o644)

        let rotated = ServeEndToEndTests.keys.replacingOccurrences(of: "disk-1", with: "disk-2")
        try rotated.write(to: directory.url.appendingPathComponent("keys.json"), atomically: true, encoding: .utf8)
        let refresh = try await ServeEndToEndTests.run(
            ["refresh", "--tenant", "acme"], environment: directory.environment)
        #expect(refresh.status == 0, "\(refresh.errors)")
        #expect(await eventually { read(providerFile)?.contains("disk-2") == true })
        #expect(await eventually { read(tenantFile)?.contains("disk-2") == true })
        daemon.terminate()
        await daemon.exited()
    }
}
