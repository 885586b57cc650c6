import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The Prometheus endpoint at `server.metrics` (`host:port`): `GET /metrics` answers the exporter's text;
/// any other path is 404 and any other method 405. Plain HTTP/1.1 on the address given, meant for loopback or
/// a pod-local scraper.
final class MetricsServer: Sendable {
    let host: String
    let port: Int
    private let render: @Sendable () -> [UInt8]
    private let group: MultiThreadedEventLoopGroup
    private let channel = Mutex<(any Channel)?>(nil)

    /// Creates the endpoint; nothing listens until ``start()``.
    /// - Parameters:
    ///   - address: `host:port` (port 0 picks a free port; ``boundPort`` tells which).
    ///   - group: the event loops to run on.
    ///   - render: produces the metrics text for each scrape.
    init(address: String, group: MultiThreadedEventLoopGroup, render: @escaping @Sendable () -> [UInt8]) {
        let colon = address.lastIndex(of: ":") ?? address.endIndex
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        self.port = colon < address.endIndex ? Int(address[address.index(after: colon)...]) ?? 0 : 0
        self.group = group
        self.render = render
    }

    /// The port listened on, once started.
    var boundPort: Int? { channel.withLock { $0?.localAddress?.port } }

    /// Binds and starts answering.
    func start() async throws {
        let render = self.render
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: host, port: port).get()
        channel.withLock { $0 = bound }
    }

    /// Stops listening.
    func shutdown() async {
        let bound = channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
    }
}
