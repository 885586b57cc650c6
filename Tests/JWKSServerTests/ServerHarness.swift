import DevIssuer
import Foundation
import JWKSCache
import JWKSClient
import JWKSConfig
import JWKSServer
import JWKSTestSupport

/// A DevIssuer, an engine on a manual clock, the socket server on a temporary socket, and a client.
final class ServerHarness: ScopedHarness {
    let issuer: DevIssuer
    let clock = ManualClock()
    let engine: JWKSEngine
    let transport: AsyncHTTPClientTransport
    let server: JWKSServer
    let client: JWKSClient
    let directory: URL
    let socketPath: String
    private let loop: Task<Void, Never>

    /// `{{BASE}}` in the YAML becomes the issuer's URL; `{{SOCKET}}` the socket path; `adjust` changes settings
    /// the YAML cannot (limits the tests shrink).
    init(
        yaml: String, hooks: any AdminHooks = NoAdminHooks(), metrics: ServerMetrics = ServerMetrics(),
        adjust: (inout ServerSettings) -> Void = { _ in }, prepare: (DevIssuer) -> Void
    ) async throws {
        directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("jwksd-srv-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.appendingPathComponent("jwksd.sock").path
        issuer = try await DevIssuer.start()
        prepare(issuer)
        let text = yaml.replacingOccurrences(of: "{{BASE}}", with: issuer.baseURL)
            .replacingOccurrences(of: "{{SOCKET}}", with: socketPath)
        let config = try ConfigLoader.load(text: text, baseDirectory: directory.path)
        transport = AsyncHTTPClientTransport(connectTimeout: .seconds(10))
        engine = JWKSEngine(
            config: config, clock: clock, transport: transport,
            prepare: PreparedReplies.preparer(compressMinBytes: config.server.compressMinBytes))
        var settings = ServerSettings(config: config)
        adjust(&settings)
        server = JWKSServer(
            dispatcher: RequestDispatcher(engine: engine, settings: settings, hooks: hooks, metrics: metrics))
        try await server.start()
        client = JWKSClient(socketPath: socketPath)
        let engine = self.engine
        loop = Task { await engine.run() }
        let events = engine.events()
        engine.start()
        var loaded = Set<ProviderKey>()
        let total = config.providerCount
        for await event in events {
            switch event.kind {
            case .published, .failed: loaded.insert(event.key)
            default: break
            }
            if loaded.count == total { break }
        }
    }

    func shutdown() async {
        loop.cancel()
        await client.close()
        await server.shutdown()
        try? await transport.shutdown()
        try? await issuer.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    static func yaml(_ tenants: String, server: String = "") -> String {
        """
        version: 1
        server:
          socket: "{{SOCKET}}"
        \(server.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        defaults:
          require_https: false
          allow_private_networks: true
          prefetch_jitter: 0s
          # Tests on a loaded 2-core machine share it with dozens of others: a fetch from the loopback that
          # waits for a thread must not read as a provider timing out (tests of timeouts set their own).
          retry: { attempt_timeout: 30s }
        tenants:
        \(tenants.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        """
    }
}

/// Corpus files copied into this test target.
enum Fixture {
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(name)
        return Array(try Data(contentsOf: url))
    }
}
