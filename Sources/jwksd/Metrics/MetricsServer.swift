import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The Prometheus endpoint at `server.metrics` (`host:port`): `GET /metrics` answers the exporter's text;
/// any other path is 404 and any other method 405. Plain HTTP/1.1 on the address given, meant for loopback or
/// a pod-local scraper. Bounded: at most ``maximumConnections`` connections (more are closed at once), a
/// connection idle for the idle timeout (90 s) is closed, and a client that does not read its responses is not read
/// either (one response is prepared at a time, only while the connection is writable).
final class MetricsServer: Sendable {
    /// Connections served at once.
    static let maximumConnections = 64
    /// Connections without a request for this long are closed (by default).
    static let defaultIdleTimeout = TimeAmount.seconds(90)

    let host: String
    let port: Int
    private let render: @Sendable () -> [UInt8]
    private let idleTimeout: TimeAmount
    private let group: MultiThreadedEventLoopGroup
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)
    private let connections = ManagedAtomic<Int>(0)

    /// Creates the endpoint; nothing listens until ``start()``.
    /// - Parameters:
    ///   - address: `host:port` (port 0 picks a free port; ``boundPort`` tells which).
    ///   - group: the event loops to run on.
    ///   - idleTimeout: connections without a request for this long are closed.
    ///   - render: produces the metrics text for each scrape.
    init(
        address: String, group: MultiThreadedEventLoopGroup, idleTimeout: TimeAmount = MetricsServer.defaultIdleTimeout,
        render: @escaping @Sendable () -> [UInt8]
    ) {
        self.idleTimeout = idleTimeout
        let colon = address.lastIndex(of: ":") ?? address.endIndex
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        self.port = colon < address.endIndex ? Int(address[address.index(after: colon)...]) ?? 0 : 0
        self.group = group
        self.render = render
    }

    /// The port listened on, once started.
    var boundPort: Int? { channel.withLockedValue { $0?.localAddress?.port } }

    /// Binds and starts answering.
    func start() async throws {
        let render = self.render
        let connections = self.connections
        let idleTimeout = self.idleTimeout
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let open = connections.wrappingIncrementThenLoad(ordering: .relaxed)
                channel.closeFuture.whenComplete { _ in connections.wrappingDecrement(ordering: .relaxed) }
                guard open <= Self.maximumConnections else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        IdleStateHandler(allTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: host, port: port).get()
        channel.withLockedValue { $0 = bound }
    }

    /// Connections open now.
    var openConnections: Int { connections.load(ordering: .relaxed) }

    /// Stops listening.
    func shutdown() async {
        let bound = channel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
    }
}
