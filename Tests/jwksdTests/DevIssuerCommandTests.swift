import Foundation
import JWKS
import JWKSCache
import JWKSConfig
import JWKSTestSupport
import Testing
@testable import jwksd

/// `jwksd dev-issuer --background`: the stand-in for remote identity providers in the benchmarks serves from
/// threads at the lowest priority.
@Suite("jwksd dev-issuer")
struct DevIssuerCommandTests {
    /// One thread of a process: its name and nice value, from /proc.
    struct ThreadInfo {
        var name: String
        var nice: Int
    }

    static func threads(of pid: Int32) throws -> [ThreadInfo] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").compactMap { tid in
            let stat = try String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8)
            let name = try String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8)
            // Nice is field 19.
            guard let fields = DaemonCPU.statFields(stat), fields.count > 16, let nice = Int(fields[16]) else {
                return nil
            }
            return ThreadInfo(name: name.trimmingCharacters(in: .whitespacesAndNewlines), nice: nice)
        }
    }

    @Test("--background serves keys from event loop threads at nice 19")
    func background() async throws {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent(
            "jwksd-issuer-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("issuers.yaml")
        let process = Process()
        process.executableURL = ServeEndToEndTests.binary
        process.arguments = [
            "dev-issuer", "--issuers", "2", "--port", "0", "--keys", "p256", "--background", "--write-config",
            config.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try await withCleanup {
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: config.path) {
                try await Task.sleep(for: .milliseconds(50))
            }
            let registry = try String(contentsOf: config, encoding: .utf8)
            let start = try #require(registry.range(of: "http://"))
            let end = try #require(registry[start.lowerBound...].firstIndex(of: "\""))
            let url = String(registry[start.lowerBound..<end])
            #expect(url.hasSuffix("/p0/jwks"))

            let transport = AsyncHTTPClientTransport(connectTimeout: .seconds(10))
            let response = try await transport.get(
                HTTPGetRequest(url: try HTTPURL(url), headers: [], timeout: .seconds(5), maxBodyBytes: 65_536))
            try await transport.shutdown()
            #expect(response.status == 200)
            #expect(try JWKSet(parsing: response.body).keys.count == 1)

            let loops = try Self.threads(of: process.processIdentifier).filter { $0.name.hasPrefix("NIO-ELT") }
            #expect(!loops.isEmpty)
            #expect(loops.allSatisfy { $0.nice == 19 }, "\(loops)")
        } cleanup: {
            process.terminate()
            await process.exited()
        }
    }
}
