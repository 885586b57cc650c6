import Foundation
import JWKSClient
import JWKSConfig
import JWKSServer
import JWKSTestSupport
import JWKSWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import jwksd

#if canImport(Glibc)
    import Glibc
#endif

/// What the operating environment can do to the daemon: a stderr nobody reads, a scraper that does not read,
/// a low open-file limit, a snapshot directory others can write. Each case failed before its fix.
@Suite("Hostile environment", .serialized)
struct HostileOperationsTests {
    @Test("the log queue never waits for its destination: lines past its bound are dropped and counted")
    func logQueueDrops() async throws {
        let gate = NIOLockedValueBox(false)
        let written = NIOLockedValueBox(0)
        let queue = LogQueue(maximumLines: 100, maximumBytes: 1 << 20) { _ in
            // A destination that blocks until the test lets it go (a full pipe).
            while !gate.withLockedValue({ $0 }) { usleep(1_000) }
            written.withLockedValue { $0 += 1 }
        }
        queue.start()
        let started = ContinuousClock.now
        for index in 0..<20_000 { queue.write("line \(index)\n") }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(queue.pending <= 100)
        // The writer holds one batch (blocked in the destination) and the queue another; the rest was dropped.
        #expect(queue.dropped >= 20_000 - 2 * 100)
        gate.withLockedValue { $0 = true }
        for _ in 0..<200 where queue.pending > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(queue.pending == 0)
    }

    @Test("a daemon whose stderr is a pipe nobody reads keeps refreshing and answering")
    func unreadStandardError() async throws {
        let directory = try DaemonDirectory(
            config: "version: 1\nserver: { socket: ./jwksd.sock }\ntenants:\n  acme:\n    providers:\n"
                + "      disk: { file: ./keys.json }\n")
        defer { directory.remove() }
        let pipe = Pipe()  // never read
        let daemon = try await ServeEndToEndTests.startDaemon(
            config: directory.config, environment: directory.environment, arguments: ["--log-level", "debug"],
            standardError: pipe)
        defer { if daemon.isRunning { daemon.terminate() } }
        let client = JWKSClient(socketPath: directory.socket)
        try await withCleanup {
            // Two debug lines per refresh: far more than a pipe holds (64 KiB).
            for _ in 0..<1_500 {
                let refreshed = try await client.refresh(tenant: "acme", timeout: .seconds(30))
                #expect(refreshed.providers.count == 1)
            }
            #expect(try await client.getKey(tenant: "acme", kid: "disk-1").kid == "disk-1")
            _ = pipe
        } cleanup: {
            await client.close()
        }
    }

    @Test("the metrics endpoint prepares no response for a client that does not read, and caps its connections")
    func metricsBackpressure() async throws {
        let renders = NIOLockedValueBox(0)
        let server = MetricsServer(address: "127.0.0.1:0", group: .singleton, idleTimeout: .milliseconds(500)) {
            renders.withLockedValue { $0 += 1 }
            return [UInt8](repeating: UInt8(ascii: "#"), count: 1_048_576)
        }
        try await server.start()
        try await withCleanup {
            let port = try #require(server.boundPort)
            let flood = try Self.tcpConnect(port: port)
            defer { close(flood) }
            let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            let pipelined = (0..<500).flatMap { _ in request }
            _ = pipelined.withUnsafeBytes { send(flood, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            try await Task.sleep(for: .seconds(1))
            // Each response is 1 MiB; a client that reads none of them gets at most a few prepared.
            #expect(renders.withLockedValue { $0 } <= 8)

            var extra: [Int32] = []
            defer { for descriptor in extra { close(descriptor) } }
            for _ in 0..<(MetricsServer.maximumConnections + 5) { extra.append(try Self.tcpConnect(port: port)) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.openConnections <= MetricsServer.maximumConnections)
            // Connections that send nothing are closed after the idle timeout.
            try await Task.sleep(for: .seconds(1))
            #expect(server.openConnections == 0)
        } cleanup: {
            await server.shutdown()
        }
    }

    @Test("with a low open-file limit, connections past what it allows are refused, not left to spin the accept loop")
    func lowFileLimit() async throws {
        let directory = try DaemonDirectory(
            config: "version: 1\nserver: { socket: ./jwksd.sock, max_connections: 1024 }\ntenants:\n  acme:\n"
                + "    providers:\n      disk: { file: ./keys.json }\n")
        defer { directory.remove() }
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/bin/sh")
        daemon.arguments = [
            "-c", "ulimit -n 256 && exec \"$0\" serve --config \"$1\"", ServeEndToEndTests.binary.path,
            directory.config.path,
        ]
        daemon.standardError = try FileHandle(
            forWritingTo: { () -> URL in
                _ = FileManager.default.createFile(atPath: directory.log.path, contents: nil)
                return directory.log
            }())
        try daemon.run()
        defer { if daemon.isRunning { daemon.terminate() } }
        let client = JWKSClient(socketPath: directory.socket)
        try await withCleanup {
            var ready = false
            for _ in 0..<100 where !ready {
                ready = (try? await client.health().serving) == true
                if !ready { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(ready)
            // 256 descriptors leave room for 96 connections (128 + 2 x 16 fetches reserved).
            var held: [Int32] = []
            defer { for descriptor in held { close(descriptor) } }
            var refused = 0
            // 300 connections: more than the 256 descriptors the daemon has (EMFILE without the clamp).
            for _ in 0..<300 {
                let descriptor = try UnixSocket.connect(directory.socket)
                held.append(descriptor)
            }
            try await Task.sleep(for: .milliseconds(500))
            for descriptor in held {
                var byte: UInt8 = 0
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, 0) > 0, recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT)) >= 0 { refused += 1 }
            }
            #expect(refused >= 300 - 96)
            // The daemon idles: no accept loop spinning on EMFILE.
            let before = try #require(DaemonCPU.sample(pid: daemon.processIdentifier))
            try await Task.sleep(for: .seconds(1))
            let used = try #require(DaemonCPU.sample(pid: daemon.processIdentifier)) - before
            #expect(used.user + used.system < 0.3, "the daemon used \(used) s of CPU in 1 s while idle")
            #expect(directory.logText.contains("max_connections lowered"))
            #expect(try await client.health().serving)
        } cleanup: {
            await client.close()
        }
    }

    static func tcpConnect(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        return descriptor
    }

    @Test("the open-file limit is raised to its hard limit and max_connections kept below what it allows")
    func fileLimit() throws {
        let soft = FileLimit.raise()
        var limit = rlimit()
        #expect(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        #expect(limit.rlim_cur == limit.rlim_max)
        if let soft { #expect(soft == Int(clamping: limit.rlim_cur)) }
        #expect(FileLimit.connectionCapacity(softLimit: 1_024, maxConcurrentFetches: 16) == 1_024 - 160)
        #expect(FileLimit.connectionCapacity(softLimit: 100, maxConcurrentFetches: 16) == 1)
        #expect(FileLimit.connectionCapacity(softLimit: nil, maxConcurrentFetches: 16) == nil)
        let config = try ConfigLoader.load(text: "version: 1\nserver: { max_connections: 1024 }\ntenants: {}\n")
        let settings = Daemon.settings(for: config, softLimit: 1_024, logger: Logger(label: "test"))
        #expect(settings.maxConnections == 864 && settings.maxConnectionsPerUID == 512)
        let roomy = Daemon.settings(for: config, softLimit: 65_536, logger: Logger(label: "test"))
        #expect(roomy.maxConnections == 1_024)
    }

    @Test("jwksd check loads every ca_file; jwksd serve refuses a snapshot_dir others can write")
    func filesTheRegistryNames() async throws {
        let directory = try DaemonDirectory(
            config: "version: 1\nserver: { socket: ./jwksd.sock, snapshot_dir: ./state }\ntenants:\n  acme:\n"
                + "    providers:\n      idp: { jwks_uri: \"https://idp.example.com/jwks\", ca_file: certs/missing.pem }\n"
        )
        defer { directory.remove() }
        let check = CheckReport.run(path: directory.config.path, printEffective: false)
        #expect(check.exitCode == 1)
        #expect(check.errors.contains("tenants.acme.providers.idp.ca_file: \(directory.url.path)/certs/missing.pem"))
        let state = directory.url.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        #expect(chmod(state.path, 0o777) == 0)
        let run = try await ServeEndToEndTests.run(["serve", "--config", directory.config.path])
        #expect(run.status != 0)
        #expect(run.errors.contains("snapshot_dir") && run.errors.contains("writable by"))
    }
}
