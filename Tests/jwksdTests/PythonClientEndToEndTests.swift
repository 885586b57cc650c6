import DevIssuer
import Foundation
import JWKSTestSupport
import Testing

/// The Python client package's command line, `python -m jwksd` (clients/python, written from Protocol/ alone),
/// against a live daemon.
@Suite("Python example client end to end", .serialized)
struct PythonClientEndToEndTests {
    /// The interpreter scripts/python-env.sh prepares (with protobuf from PyPI and the jwksd package installed).
    static var python: URL { DemoEndToEndTests.repository.appendingPathComponent(".build-python/bin/python3") }

    /// Runs `python -m jwksd ARGUMENTS`. PYTHONSAFEPATH: the installed package, never a `jwksd` folder in the
    /// working directory.
    static func run(_ arguments: [String]) async throws -> ServeEndToEndTests.Run {
        try await ServeEndToEndTests.run(
            ["-m", "jwksd"] + arguments, environment: ["PYTHONSAFEPATH": "1"], executable: python)
    }

    @Test("get, keys (a compressed reply), status, health and a NOT_FOUND exit code")
    func pythonClient() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.python.path),
            "no Python environment: run scripts/python-env.sh (scripts/test.sh does)")
        let issuer = try await DevIssuer.start()
        try await withCleanup {
            let keys = issuer.addIssuer("acme", kinds: [.rsa2048, .p256, .ed25519], maxAge: 300)
            let directory = try DaemonDirectory(
                config: """
                    version: 1
                    server: { socket: ./jwksd.sock, compress_min_bytes: 64 }
                    defaults: { require_https: false, allow_private_networks: true }
                    tenants:
                      acme:
                        providers:
                          login: { issuer: "\(issuer.issuerURL("acme"))" }
                    """)
            defer { directory.remove() }
            let daemon = try await ServeEndToEndTests.startDaemon(
                config: directory.config, environment: directory.environment)
            defer { if daemon.isRunning { daemon.terminate() } }
            let socket = ["--socket", directory.socket]

            let get = try await Self.run(socket + ["get", "--tenant", "acme", "--kid", "acme-1", "--alg", "ES256"])
            #expect(get.status == 0, "\(get.errors)")
            #expect(get.output == keys[1].json + "\n")
            let set = try await Self.run(socket + ["keys", "--tenant", "acme", "--provider", "login"])
            #expect(set.status == 0, "\(set.errors)")
            let document = try JSONSerialization.jsonObject(with: Data(set.output.utf8)) as? [String: Any]
            #expect((document?["keys"] as? [Any])?.count == 3)
            let status = try await Self.run(socket + ["status"])
            #expect(status.output.contains(#""standing": "fresh", "keys": 3"#), "\(status.output)")
            let health = try await Self.run(socket + ["health"])
            #expect(health.status == 0 && health.output.hasPrefix("serving: True"))
            let missing = try await Self.run(socket + ["get", "--tenant", "acme", "--kid", "nope"])
            #expect(missing.status == 15)
            #expect(missing.errors.hasPrefix("NOT_FOUND: kid \"nope\""), "\(missing.errors)")
            let absent = try await Self.run([
                "--socket", directory.url.appendingPathComponent("none.sock").path, "health",
            ])
            #expect(absent.status == 24 && absent.errors.hasPrefix("UNAVAILABLE: cannot connect"))
            daemon.terminate()
            await daemon.exited()
        } cleanup: {
            try? await issuer.shutdown()
        }
    }
}
