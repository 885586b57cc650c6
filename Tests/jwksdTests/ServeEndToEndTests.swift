import DevIssuer
import Foundation
import JWKSTestSupport
import Testing

/// Spawns the built `jwksd` binary: serve a file provider, query it with the client commands, stop it
/// with SIGTERM.
@Suite("jwksd serve end to end", .serialized)
struct ServeEndToEndTests {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("jwksd")
    }

    static let keys = """
        {"keys":[{"kty":"OKP","crv":"Ed25519","kid":"disk-1","use":"sig","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}
        """

    struct Run {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `executable` (the built jwksd by default) to completion and collects its output. The output goes
    /// to files, not pipes: a child that writes more than a pipe holds would block while we wait for it.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], executable: URL? = nil
    ) async throws -> Run {
        try await onOwnThread { try runNow(arguments, environment: environment, executable: executable) }
    }

    private static func runNow(_ arguments: [String], environment: [String: String], executable: URL?) throws -> Run {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-run-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outputFile = directory.appendingPathComponent("stdout")
        let errorsFile = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorsFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputFile)
        let errors = try FileHandle(forWritingTo: errorsFile)
        defer {
            try? output.close()
            try? errors.close()
        }
        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus,
            output: String(decoding: try Data(contentsOf: outputFile), as: UTF8.self),
            errors: String(decoding: try Data(contentsOf: errorsFile), as: UTF8.self))
    }

    /// `jwksd get` of acme/two's key, asked again every 20 ms for up to 3 s while it fails (a provider a
    /// reload just added loads in the background).
    static func keyOfProviderTwo(environment: [String: String]) async throws -> Run {
        let arguments = ["get", "--tenant", "acme", "--provider", "two", "--kid", "disk-1"]
        var found = try await run(arguments, environment: environment)
        for _ in 0..<150 where found.status != 0 {
            try await Task.sleep(for: .milliseconds(20))
            found = try await run(arguments, environment: environment)
        }
        return found
    }

    /// Starts `jwksd serve` and waits (up to 5 s) until `jwksd health` says it is serving.
    /// - Parameter log: a file to receive the daemon's log (standard error), or nil to discard it.
    static func startDaemon(
        config: URL, environment: [String: String], log: URL? = nil, arguments: [String] = [],
        standardError: Pipe? = nil
    ) async throws -> Process {
        let daemon = Process()
        daemon.executableURL = binary
        daemon.arguments = ["serve", "--config", config.path] + arguments
        if let standardError {
            daemon.standardError = standardError
        } else if let log {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            daemon.standardError = try FileHandle(forWritingTo: log)
        } else {
            daemon.standardError = FileHandle.nullDevice
        }
        try daemon.run()
        var health = try await run(["health"], environment: environment)
        for _ in 0..<100 where health.status != 0 {
            try await Task.sleep(for: .milliseconds(50))
            health = try await run(["health"], environment: environment)
        }
        #expect(health.status == 0, "the daemon did not become ready: \(health.errors)")
        return daemon
    }

    @Test("serve answers get, keys, status and health; SIGTERM removes the socket file")
    func serve() async throws {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("jwksd-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.keys.write(to: directory.appendingPathComponent("keys.json"), atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("tenants.yaml")
        try """
        version: 1
        server: { socket: ./jwksd.sock }
        tenants:
          acme:
            providers:
              disk: { file: ./keys.json }
        """.write(to: config, atomically: true, encoding: .utf8)
        let socket = directory.appendingPathComponent("jwksd.sock").path
        let environment = ["JWKSD_SOCKET": socket]
        let daemon = try await Self.startDaemon(config: config, environment: environment)
        defer { if daemon.isRunning { daemon.terminate() } }

        let get = try await Self.run(["get", "--tenant", "acme", "--kid", "disk-1"], environment: environment)
        #expect(get.status == 0)
        #expect(get.output.contains("\"kid\":\"disk-1\""))
        let missing = try await Self.run(["get", "--tenant", "acme", "--kid", "nope"], environment: environment)
        #expect(missing.status == 15)
        #expect(missing.errors == "NOT_FOUND: kid \"nope\" not found in tenant acme\n")
        let keys = try await Self.run(["keys", "--tenant", "acme", "--provider", "disk", "--socket", socket])
        #expect(keys.output == Self.keys + "\n")
        let status = try await Self.run(["status", "--json"], environment: environment)
        #expect(status.output.contains("\"keyCount\":1"))

        daemon.terminate()
        await daemon.exited()
        #expect(!FileManager.default.fileExists(atPath: socket))
        let after = try await Self.run(["health"], environment: environment)
        #expect(after.status == 24, "UNAVAILABLE once the daemon is gone: \(after.errors)")
    }

    @Test("jwksd bench drives the daemon and reports throughput, percentiles and errors by status")
    func bench() async throws {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("jwksd-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.keys.write(to: directory.appendingPathComponent("keys.json"), atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("tenants.yaml")
        try
            "version: 1\nserver: { socket: ./jwksd.sock }\ntenants:\n  acme:\n    providers:\n      disk: { file: ./keys.json }\n"
            .write(to: config, atomically: true, encoding: .utf8)
        let environment = ["JWKSD_SOCKET": directory.appendingPathComponent("jwksd.sock").path]
        let daemon = try await Self.startDaemon(config: config, environment: environment)
        defer { if daemon.isRunning { daemon.terminate() } }
        let one = try await Self.run(
            [
                "bench", "--tenant", "acme", "--provider", "disk", "--kid", "disk-1", "--requests", "500",
                "--connections", "2",
                "--pipeline", "4", "--warmup", "0s", "--json",
            ], environment: environment)
        #expect(one.status == 0, "\(one.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(one.output.utf8)) as? [String: Any])
        #expect(report["requests"] as? Int == 500)
        #expect((report["errors"] as? [String: Any])?.isEmpty == true)
        let latency = try #require(report["latency_us"] as? [String: Double])
        #expect(latency["p50"]! > 0 && latency["p50"]! <= latency["p99"]! && latency["p99"]! <= latency["max"]!)
        // The daemon was found through the socket's peer credentials and its /proc stat read.
        #expect((report["daemon_cpu_us_per_call"] as? Double).map { $0 >= 0 } == true, "\(one.output)")
        let mixed = try await Self.run(
            ["bench", "--mix", "all", "--miss-ratio", "0.5", "--requests", "400", "--warmup", "0s", "--json"],
            environment: environment)
        let mixedReport = try #require(
            try JSONSerialization.jsonObject(with: Data(mixed.output.utf8)) as? [String: Any])
        #expect(mixedReport["requests"] as? Int == 400)
        #expect((mixedReport["errors"] as? [String: Int])?["NOT_FOUND"] == 200)
        let table = try await Self.run(
            ["bench", "--method", "health", "--requests", "100", "--warmup", "0s"], environment: environment)
        #expect(table.output.contains("requests 100 in"))
        #expect(table.output.contains("errors: none"))
        #expect(table.output.contains("daemon CPU: "))
        let floor = try await Self.run(
            [
                "bench", "--tenant", "acme", "--provider", "disk", "--kid", "disk-1", "--requests", "300",
                "--warmup", "0s", "--floor", "--json",
            ], environment: environment)
        let floorReport = try #require(
            try JSONSerialization.jsonObject(with: Data(floor.output.utf8)) as? [String: Any], "\(floor.errors)")
        let floorLatency = try #require(floorReport["floor_latency_us"] as? [String: Double])
        let ratio = try #require(floorReport["floor_ratio"] as? [String: Double])
        #expect(floorLatency["p50"]! > 0 && floorLatency["p50"]! <= floorLatency["p99"]!)
        let measured = try #require(floorReport["latency_us"] as? [String: Double])
        // The printed latencies are rounded to 0.1 µs; the ratio is computed before rounding.
        let expected = measured["p50"]! / floorLatency["p50"]!
        #expect(abs(ratio["p50"]! - expected) / expected < 0.05)
        // The same ping-pong against a minimal SwiftNIO server, reported beside it.
        let eventLoop = try #require(floorReport["event_loop_floor_latency_us"] as? [String: Double])
        #expect(eventLoop["p50"]! > 0 && eventLoop["p50"]! <= eventLoop["p99"]!)
        #expect(floorReport["event_loop_floor_ratio"] is [String: Double])
    }

    @Test("an atomic rename of the config file is picked up by the watcher")
    func watchedFile() async throws {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("jwksd-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.keys.write(to: directory.appendingPathComponent("keys.json"), atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("tenants.yaml")
        let base = "version: 1\nserver: { socket: ./jwksd.sock }\ntenants:\n  acme:\n    providers:\n"
        try (base + "      one: { file: ./keys.json }\n").write(to: config, atomically: true, encoding: .utf8)
        let environment = ["JWKSD_SOCKET": directory.appendingPathComponent("jwksd.sock").path]
        let daemon = try await Self.startDaemon(config: config, environment: environment)
        defer { if daemon.isRunning { daemon.terminate() } }
        try (base + "      one: { file: ./keys.json }\n      two: { file: ./keys.json }\n")
            .write(to: config, atomically: true, encoding: .utf8)
        let found = try await Self.keyOfProviderTwo(environment: environment)
        #expect(found.status == 0, "\(found.errors)")
        #expect(try await Self.run(["status"], environment: environment).output.contains("config generation 2"))
    }

    @Test("reload by RPC and by SIGHUP applies a valid file; an invalid file keeps the running registry")
    func reload() async throws {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("jwksd-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.keys.write(to: directory.appendingPathComponent("keys.json"), atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("tenants.yaml")
        func registry(_ providers: [String]) -> String {
            "version: 1\nserver: { socket: ./jwksd.sock }\ntenants:\n  acme:\n    providers:\n"
                + providers.map { "      \($0): { file: ./keys.json }\n" }.joined()
        }
        try registry(["one"]).write(to: config, atomically: true, encoding: .utf8)
        let socket = directory.appendingPathComponent("jwksd.sock").path
        let environment = ["JWKSD_SOCKET": socket]
        let daemon = try await Self.startDaemon(config: config, environment: environment)
        defer { if daemon.isRunning { daemon.terminate() } }

        try registry(["one", "two"]).write(to: config, atomically: true, encoding: .utf8)
        let applied = try await Self.run(["reload"], environment: environment)
        #expect(applied.status == 0, "\(applied.errors)")
        #expect(applied.output == "reloaded: generation 2, +1 -0 ~0 =1\n")
        let two = try await Self.keyOfProviderTwo(environment: environment)
        #expect(two.status == 0)

        try "version: 1\ntenants:\n  acme:\n    providers:\n      one: { file: ./keys.json, min_ttl: 30 }\n"
            .write(to: config, atomically: true, encoding: .utf8)
        let refused = try await Self.run(["reload"], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.errors.contains("tenants.acme.providers.one.min_ttl: \"30\" has no unit"))
        let stillTwo = try await Self.run(
            ["get", "--tenant", "acme", "--provider", "two", "--kid", "disk-1"], environment: environment)
        #expect(stillTwo.status == 0, "the running registry stays")
        let status = try await Self.run(["status"], environment: environment)
        #expect(status.output.contains("config generation 2"))
        #expect(status.output.contains("last reload: failed"))

        try registry(["one", "two", "three"]).write(to: config, atomically: true, encoding: .utf8)
        kill(daemon.processIdentifier, SIGHUP)
        var generation = ""
        for _ in 0..<100 where !generation.contains("config generation 3") {
            try await Task.sleep(for: .milliseconds(20))
            generation = try await Self.run(["status"], environment: environment).output
        }
        #expect(generation.contains("config generation 3"))
        #expect(generation.contains("last reload: ok"))
        daemon.terminate()
        await daemon.exited()
    }

    @Test("a reload that edits server: settings applies the rest and names the settings waiting for a restart")
    func reloadServerSettings() async throws {
        func registry(server: String, providers: [String]) -> String {
            "version: 1\nserver: { socket: ./jwksd.sock\(server) }\ntenants:\n  acme:\n    providers:\n"
                + providers.map { "      \($0): { file: ./keys.json }\n" }.joined()
        }
        let directory = try DaemonDirectory(config: registry(server: "", providers: ["one"]))
        defer { directory.remove() }
        let environment = directory.environment
        let daemon = try await Self.startDaemon(config: directory.config, environment: environment, log: directory.log)
        defer { if daemon.isRunning { daemon.terminate() } }
        let pending = "server settings changed in the file, applied at the next start: max_connections, http"

        try directory.write(
            config: registry(
                server: ", max_connections: 10, http: { listen: \"127.0.0.1:0\" }", providers: ["one", "two"]))
        let applied = try await Self.run(["reload"], environment: environment)
        #expect(applied.status == 0, "\(applied.errors)")
        #expect(applied.output == "reloaded: generation 2, +1 -0 ~0 =1\n\(pending)\n")
        let status = try await Self.run(["status"], environment: environment)
        #expect(status.output.contains("last reload: ok"))
        #expect(status.output.contains(pending))
        // The provider was added; the settings that wait are still the ones in force.
        let two = try await Self.keyOfProviderTwo(environment: environment)
        #expect(two.status == 0, "\(two.errors)")
        let warning = "server settings changed in the file apply at the next start"
        #expect(await eventually { directory.logText.contains(warning) }, "\(directory.logText)")
        #expect(directory.logText.contains("max_connections, http"))

        // Back to the settings in force: nothing waits any more.
        try directory.write(config: registry(server: "", providers: ["one", "two"]))
        let back = try await Self.run(["reload"], environment: environment)
        #expect(back.output == "reloaded: generation 3, +0 -0 ~0 =2\n")
        #expect(
            !(try await Self.run(["status"], environment: environment).output.contains("applied at the next start")))
        daemon.terminate()
        await daemon.exited()
    }
}

/// Warm restart with the real binary: snapshots let a restarted daemon answer while the issuer is down.
@Suite("jwksd warm restart end to end", .serialized)
struct WarmRestartEndToEndTests {
    @Test("a restart with the issuer down answers from snapshots; a corrupt snapshot is ignored")
    func warmRestart() async throws {
        let issuer = try await DevIssuer.start()
        try await withCleanup {
            issuer.addIssuer("acme", kinds: [.p256], maxAge: 60)
            let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent(
                "jwksd-warm-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let config = directory.appendingPathComponent("tenants.yaml")
            try """
            version: 1
            server: { socket: ./jwksd.sock, snapshot_dir: ./state }
            defaults: { require_https: false, allow_private_networks: true, retry: { attempt_timeout: 30s } }
            tenants:
              acme:
                providers:
                  idp: { jwks_uri: "\(issuer.jwksURL("acme"))" }
            """.write(to: config, atomically: true, encoding: .utf8)
            let environment = ["JWKSD_SOCKET": directory.appendingPathComponent("jwksd.sock").path]
            let state = directory.appendingPathComponent("state")
            // The issuer runs in this (busy) test process: a fetch or a lookup waiting for it must not read as the
            // issuer timing out, so both get 30 s.
            let get = ["get", "--tenant", "acme", "--kid", "acme-0", "--timeout", "30s"]

            var daemon = try await ServeEndToEndTests.startDaemon(config: config, environment: environment)
            #expect(try await ServeEndToEndTests.run(get, environment: environment).status == 0)
            var snapshots: [String] = []
            for _ in 0..<100 where snapshots.isEmpty {
                try await Task.sleep(for: .milliseconds(20))
                snapshots =
                    (try? FileManager.default.contentsOfDirectory(atPath: state.path))?.filter {
                        $0.hasSuffix(".snapshot")
                    }
                    ?? []
            }
            #expect(snapshots.count == 1)
            daemon.terminate()
            await daemon.exited()

            issuer.inject(.status(503), at: "/acme/jwks")
            daemon = try await ServeEndToEndTests.startDaemon(config: config, environment: environment)
            let warm = try await ServeEndToEndTests.run(get, environment: environment)
            #expect(warm.status == 0, "\(warm.errors)")
            #expect(warm.output.contains("\"kid\":\"acme-0\""))
            daemon.terminate()
            await daemon.exited()

            let file = state.appendingPathComponent(try #require(snapshots.first))
            var bytes = Array(try Data(contentsOf: file))
            bytes[bytes.count - 1] ^= 0xFF
            try Data(bytes).write(to: file)
            daemon = try await ServeEndToEndTests.startDaemon(config: config, environment: environment)
            defer { if daemon.isRunning { daemon.terminate() } }
            let cold = try await ServeEndToEndTests.run(get, environment: environment)
            #expect(cold.status == 24, "UNAVAILABLE without a usable snapshot: \(cold.errors)")
            #expect(cold.errors.contains("HTTP 503"))
            daemon.terminate()
            await daemon.exited()
        } cleanup: {
            try? await issuer.shutdown()
        }
    }
}
