import Foundation
import JWKSClient
import JWKSConfig
import JWKSServer
import JWKSWire
import Logging
import NIOPosix
import Synchronization
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
        let gate = Mutex(false)
        let written = Mutex(0)
        let queue = LogQueue(maximumLines: 100, maximumBytes: 1 << 20) { _ in
            // A destination that blocks until the test lets it go (a full pipe).
            while !gate.withLock({ $0 }) { usleep(1_000) }
            written.withLock { $0 += 1 }
        }
        queue.start()
        let started = ContinuousClock.now
        for index in 0..<20_000 { queue.write("line \(index)\n") }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(queue.pending <= 100)
        // The writer holds one batch (blocked in the destination) and the queue another; the rest was dropped.
        #expect(queue.dropped >= 20_000 - 2 * 100)
        gate.withLock { $0 = true }
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
        defer { Task { await client.close() } }
        // Two debug lines per refresh: far more than a pipe holds (64 KiB).
        for _ in 0..<1_500 {
            let refreshed = try await client.refresh(tenant: "acme", timeout: .seconds(5))
            #expect(refreshed.providers.count == 1)
        }
        #expect(try await client.getKey(tenant: "acme", kid: "disk-1").kid == "disk-1")
        _ = pipe
    }

    @Test("the metrics endpoint prepares no response for a client that does not read, and caps its connections")
    func metricsBackpressure() async throws {
        let renders = Mutex(0)
        let server = MetricsServer(address: "127.0.0.1:0", group: .singleton) {
            renders.withLock { $0 += 1 }
            return [UInt8](repeating: UInt8(ascii: "#"), count: 1_048_576)
        }
        try await server.start()
        defer { Task { await server.shutdown() } }
        let port = try #require(server.boundPort)
        let flood = try Self.tcpConnect(port: port)
        defer { close(flood) }
        let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let pipelined = (0..<500).flatMap { _ in request }
        _ = pipelined.withUnsafeBytes { send(flood, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        try await Task.sleep(for: .seconds(1))
        // Each response is 1 MiB; a client that reads none of them gets at most a few prepared.
        #expect(renders.withLock { $0 } <= 8)

        var extra: [Int32] = []
        defer { for descriptor in extra { close(descriptor) } }
        for _ in 0..<(MetricsServer.maximumConnections + 5) { extra.append(try Self.tcpConnect(port: port)) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(server.openConnections <= MetricsServer.maximumConnections)
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
        let run = try ServeEndToEndTests.run(["serve", "--config", directory.config.path])
        #expect(run.status != 0)
        #expect(run.errors.contains("snapshot_dir") && run.errors.contains("writable by"))
    }
}
