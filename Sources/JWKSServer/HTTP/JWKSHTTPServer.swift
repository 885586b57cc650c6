import Atomics
public import JWKSCache
public import JWKSConfig
import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP JWKS endpoint (`server.http`): `GET`/`HEAD` `/v1/jwks/{tenant}/{provider}` and `/v1/jwks/{tenant}`
/// over HTTP/1.1 with keep-alive, on TCP or a Unix socket, answering from the published snapshots' prepared
/// documents (``JWKSHTTPResponder``). Bounded: `max_connections` (more are closed as they arrive), the decoder's
/// header limits (`max_header_bytes` for the request line and all headers together; past it 400 and close),
/// `request_timeout` for a head once its first byte arrived, `idle_timeout` between requests, one request
/// answered at a time per connection, and a `?kid=` wait of at most ``HTTPEndpointConfig/maximumKidWait``, with
/// at most `max_connections` such waits running at once (counted until each lookup returns, so clients that send
/// `?kid=` and leave cannot pile waits up; past it a request is answered at once with the set as it is).
public final class JWKSHTTPServer: Sendable {
    /// The endpoint's settings.
    public let config: HTTPEndpointConfig
    private let engine: JWKSEngine
    private let group: any EventLoopGroup
    private let socketPath: String?
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)
    private let connections = ManagedAtomic<Int>(0)
    /// `?kid=` waits running, counted until each lookup returns (a client that leaves does not end its wait).
    private let kidWaits: KidWaitBudget
    private let metrics: HTTPEndpointMetrics

    /// Creates the endpoint; nothing listens until ``start()``.
    /// - Parameters:
    ///   - engine: the engine whose snapshots are served.
    ///   - config: `server.http`; a `unix:` path must already be resolved against the config's directory.
    ///   - group: the event loops to serve on.
    ///   - metrics: where requests, `?kid=` waits and refused connections are counted.
    public init(
        engine: JWKSEngine, config: HTTPEndpointConfig, group: any EventLoopGroup,
        metrics: HTTPEndpointMetrics = HTTPEndpointMetrics()
    ) {
        self.engine = engine
        self.config = config
        self.group = group
        self.metrics = metrics
        self.kidWaits = KidWaitBudget(limit: config.maxConnections)
        if case .unix(let path) = config.listen { socketPath = path } else { socketPath = nil }
    }

    /// The TCP port listened on, once started (nil on a Unix socket).
    public var boundPort: Int? { channel.withLockedValue { $0?.localAddress?.port } }

    /// Connections open now.
    public var openConnections: Int { connections.load(ordering: .relaxed) }

    /// `?kid=` waits running now.
    public var runningKidWaits: Int { kidWaits.running }

    /// Binds and starts answering. A `unix:` socket is bound in a private directory, given its mode, then
    /// renamed to its path (as the RPC socket is).
    public func start() async throws {
        let config = self.config
        let connections = self.connections
        let responder = JWKSHTTPResponder(
            engine: engine, identifiesPeers: socketPath != nil, kidWait: config.kidWait)
        let kidWaits = kidWaits
        let metrics = metrics
        let limits = {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = config.maxHeaderBytes
            limits.maxHeaderListSize = config.maxHeaderBytes
            limits.maxHeaderFieldCount = 128
            return limits
        }()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let open = connections.wrappingIncrementThenLoad(ordering: .relaxed)
                channel.closeFuture.whenComplete { _ in connections.wrappingDecrement(ordering: .relaxed) }
                guard open <= config.maxConnections else {
                    metrics.refusedConnection()
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let timer = HTTPConnectionTimer(
                        requestTimeout: TimeAmount(config.requestTimeout), idleTimeout: TimeAmount(config.idleTimeout))
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(timer)
                    try handlers.addHandler(HTTPResponseEncoder())
                    try handlers.addHandler(
                        ByteToMessageHandler(
                            HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: limits)))
                    try handlers.addHandler(HTTPHeadMarker(timer: timer))
                    try handlers.addHandler(HTTPServerPipelineHandler())
                    try handlers.addHandler(HTTPServerProtocolErrorHandler())
                    try handlers.addHandler(JWKSHTTPHandler(responder: responder, kidWaits: kidWaits, metrics: metrics))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: false)
        switch config.listen {
        case .tcp(let host, let port):
            let bound = try await bootstrap.bind(host: host, port: port).get()
            channel.withLockedValue { $0 = bound }
        case .unix(let path):
            try SocketFile.prepare(path)
            let bound = try SocketFile.privateBindPath(for: path)
            let listener: any Channel
            do {
                listener = try await bootstrap.bind(unixDomainSocketPath: bound.path).get()
            } catch {
                SocketFile.discard(bound)
                throw error
            }
            do {
                try SocketFile.setMode(bound.path, config.socketMode)
                try SocketFile.publish(bound, at: path)
            } catch {
                SocketFile.discard(bound)
                try? await listener.close()
                throw error
            }
            channel.withLockedValue { $0 = listener }
        }
    }

    /// Stops listening (and removes a Unix socket's file); open connections finish their request and close.
    public func shutdown() async {
        let bound = channel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
        if let socketPath { SocketFile.remove(socketPath) }
    }
}
