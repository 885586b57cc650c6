import Foundation
import JWKSClient
import JWKSTestSupport
import JWKSWire
import NIOConcurrencyHelpers
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The daemon as operators see it: the Prometheus endpoint, and reloads of every kind while clients keep
/// looking keys up.
@Suite("jwksd operations end to end", .serialized)
struct OperationsEndToEndTests {
    static func registry(_ providers: [String], metrics: Bool = false) -> String {
        "version: 1\nserver: { socket: ./jwksd.sock\(metrics ? ", metrics: \"127.0.0.1:0\"" : "") }\n"
            + "tenants:\n  acme:\n    providers:\n"
            + providers.map { "      \($0): { file: ./keys.json }\n" }.joined()
    }

    /// The value of one Prometheus sample line, or nil when absent.
    @Test("server.metrics serves Prometheus text with lookups, hits, misses, refreshes, keys, expiry and reloads")
    func metrics() async throws {
        let directory = try DaemonDirectory(config: Self.registry(["one"], metrics: true))
        defer { directory.remove() }
        let environment = directory.environment
        let daemon = try await ServeEndToEndTests.startDaemon(
            config: directory.config, environment: environment, log: directory.log)
        defer { if daemon.isRunning { daemon.terminate() } }
        var address: Substring?
        for _ in 0..<100 where address == nil {
            address =
                directory.logText.split(separator: "\n").first { $0.contains("metrics listening") }?
                .split(separator: "address=").last?.split(separator: " ").first
            if address == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let url = try #require(address.flatMap { URL(string: String($0)) }, "\(directory.logText)")

        for _ in 0..<3 {
            #expect(
                try await ServeEndToEndTests.run(
                    ["get", "--tenant", "acme", "--kid", "disk-1"], environment: environment
                )
                .status == 0)
        }
        _ = try await ServeEndToEndTests.run(["get", "--tenant", "acme", "--kid", "nope"], environment: environment)
        _ = try await ServeEndToEndTests.run(["reload"], environment: environment)

        let (body, response) = try await URLSession.shared.data(from: url)
        let text = String(decoding: body, as: UTF8.self)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(
            (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix(
                "text/plain; version=0.0.4") == true)
        #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="GetKey",status="OK"}"#) == 3)
        #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="GetKey",status="NOT_FOUND"}"#) == 1)
        #expect(PrometheusText.sample(text, "jwksd_key_hits_total") == 3)
        #expect(PrometheusText.sample(text, "jwksd_kid_misses_total") == 1)
        #expect(PrometheusText.sample(text, "jwksd_stale_serves_total") == 0)
        #expect(PrometheusText.sample(text, #"jwksd_refreshes_total{outcome="200"}"#) ?? 0 >= 1)
        #expect(PrometheusText.sample(text, "jwksd_fetch_duration_seconds_count") ?? 0 >= 1)
        #expect(PrometheusText.sample(text, #"jwksd_provider_keys{tenant="acme",provider="one"}"#) == 1)
        #expect(PrometheusText.sample(text, #"jwksd_provider_expiry_seconds{tenant="acme",provider="one"}"#) ?? 0 > 0)
        #expect(PrometheusText.sample(text, #"jwksd_reloads_total{outcome="unchanged"}"#) == 1)
        #expect(PrometheusText.sample(text, "jwksd_config_generation") == 1)
        // Every family the daemon exports has a HELP line right before its TYPE line.
        let lines = text.split(separator: "\n")
        for (index, line) in lines.enumerated() where line.hasPrefix("# TYPE ") {
            let name = line.dropFirst("# TYPE ".count).prefix { $0 != " " }
            #expect(index > 0 && lines[index - 1].hasPrefix("# HELP \(name) "), "no HELP for \(name)")
        }
        #expect(text.contains("# HELP jwksd_requests_total Calls answered, by method and final status.\n"))
        let (_, missing) = try await URLSession.shared.data(
            from: url.deletingLastPathComponent().appendingPathComponent("other"))
        #expect((missing as? HTTPURLResponse)?.statusCode == 404)
        daemon.terminate()
        await daemon.exited()
    }

    @Test("lookups on other connections never fail while the registry is reloaded by RPC, SIGHUP and rename")
    func reloadsUnderLoad() async throws {
        let directory = try DaemonDirectory(config: Self.registry(["one"]))
        defer { directory.remove() }
        let environment = directory.environment
        let daemon = try await ServeEndToEndTests.startDaemon(config: directory.config, environment: environment)
        defer { if daemon.isRunning { daemon.terminate() } }
        let clients = (0..<4).map { _ in JWKSClient(socketPath: directory.socket) }
        let stop = Stopper()
        let answered = NIOLockedValueBox(0)
        let lookups = Task {
            await withTaskGroup(of: (ok: Int, failed: [String]).self) { group in
                for client in clients {
                    group.addTask {
                        var ok = 0
                        var failed: [String] = []
                        while !stop.isStopped {
                            do {
                                // 30 s: the claim is that a reload never fails a lookup, not a latency (this
                                // process's threads are shared with the rest of the suite).
                                _ = try await client.getKey(
                                    tenant: "acme", provider: "one", kid: "disk-1", timeout: .seconds(30))
                                ok += 1
                                answered.withLockedValue { $0 += 1 }
                            } catch {
                                failed.append("\(error)")
                            }
                        }
                        return (ok, failed)
                    }
                }
                var total = (ok: 0, failed: [String]())
                for await result in group {
                    total.ok += result.ok
                    total.failed += result.failed
                }
                return total
            }
        }

        let observer = JWKSClient(socketPath: directory.socket)
        try await withCleanup {
            func waitForGeneration(_ generation: UInt64) async throws {
                var current = try await observer.status().configGeneration
                for _ in 0..<250 where current != generation {
                    try await Task.sleep(for: .milliseconds(20))
                    current = try await observer.status().configGeneration
                }
                #expect(current == generation)
                // Lookups go on being answered after this reload (the count is not a speed bar: only that it moves).
                let before = answered.withLockedValue { $0 }
                #expect(await eventually { answered.withLockedValue { $0 } >= before + 20 })
            }
            // RPC (the file is written in place, then reloaded).
            try Self.registry(["one", "two"]).write(to: directory.config, atomically: false, encoding: .utf8)
            #expect(try await observer.reload().result.ok)
            try await waitForGeneration(2)
            // SIGHUP.
            try Self.registry(["one", "two", "three"]).write(to: directory.config, atomically: false, encoding: .utf8)
            kill(daemon.processIdentifier, SIGHUP)
            try await waitForGeneration(3)
            // Atomic rename, seen by the watcher.
            try directory.write(config: Self.registry(["one", "three"]))
            try await waitForGeneration(4)
            try await Task.sleep(for: .milliseconds(100))

            stop.stop()
            let total = await lookups.value
            for client in clients { await client.close() }
            #expect(total.failed.isEmpty, "\(total.failed.prefix(5))")
            daemon.terminate()
            await daemon.exited()
        } cleanup: {
            await observer.close()
        }
    }
}

/// A flag the test flips to end its worker loops.
final class Stopper: Sendable {
    private let flag = NIOLockedValueBox(false)
    var isStopped: Bool { flag.withLockedValue { $0 } }
    func stop() { flag.withLockedValue { $0 = true } }
}
