import Atomics
import JWKSCache
import JWKSWire
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix

/// The Unix-socket server: frames in, the dispatcher's replies out, one ``ConnectionHandler`` per
/// connection, `max_connections` enforced with a GOAWAY, and the socket file managed.
public final class JWKSServer: Sendable {
    /// The request router.
    public let dispatcher: RequestDispatcher
    /// The settings in force.
    public let settings: ServerSettings
    private let group: any EventLoopGroup
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    private let connectionCount = ManagedAtomic<Int>(0)
    /// Per-uid and partial-frame limits shared by every connection.
    let quotas: SharedQuotas

    /// Creates a server on NIO's shared event loops; call ``start()`` to listen.
    /// - Parameter dispatcher: the request router.
    public convenience init(dispatcher: RequestDispatcher) {
        self.init(dispatcher: dispatcher, group: MultiThreadedEventLoopGroup.singleton)
    }

    /// Creates a server; call ``start()`` to listen.
    /// - Parameters:
    ///   - dispatcher: the request router.
    ///   - group: the event loops.
    public init(dispatcher: RequestDispatcher, group: any EventLoopGroup) {
        self.dispatcher = dispatcher
        self.settings = dispatcher.settings
        self.group = group
        self.quotas = SharedQuotas(settings: dispatcher.settings)
    }

    /// Binds the socket (replacing a stale file, refusing a live one) and starts accepting. The socket is bound
    /// in a private directory, given `socket_mode`, then renamed to its path: no peer can connect while it has
    /// the umask's mode.
    /// - Throws: when the socket path is in use or cannot be bound.
    public func start() async throws {
        try SocketFile.prepare(settings.socketPath)
        let settings = self.settings
        let dispatcher = self.dispatcher
        let quotas = self.quotas
        let bound = try SocketFile.privateBindPath(for: settings.socketPath)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let admitted = self.admit(channel)
                    let handlers = channel.pipeline.syncOperations
                    if !admitted {
                        try handlers.addHandler(RejectingHandler(maxConnections: settings.maxConnections))
                        return
                    }
                    try handlers.addHandler(ConnectionHandler(router: dispatcher, settings: settings, quotas: quotas))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: false)
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: bound.path).get()
        } catch {
            SocketFile.discard(bound)
            throw error
        }
        do {
            try SocketFile.setMode(bound.path, settings.socketMode)
            try SocketFile.publish(bound, at: settings.socketPath)
        } catch {
            SocketFile.discard(bound)
            try? await channel.close()
            throw error
        }
        listener.withLockedValue { $0 = channel }
    }

    /// Stops gracefully: stops accepting and removes the socket file, then drains every connection: new
    /// requests are answered UNAVAILABLE, calls in flight (a lookup waiting on a fetch, a Refresh, a Reload)
    /// are answered, Watch streams end with UNAVAILABLE, and each connection says GOAWAY OK and closes once
    /// it has nothing in flight. Connections still busy after `drainTimeout` are closed.
    /// - Parameter drainTimeout: how long calls in flight may take to finish.
    public func shutdown(drainTimeout: Duration = .seconds(10)) async {
        let channel = listener.withLockedValue { listener in
            defer { listener = nil }
            return listener
        }
        try? await channel?.close()
        SocketFile.remove(settings.socketPath)
        let open = connections.withLockedValue { Array($0.values) }
        for connection in open { connection.pipeline.fireUserInboundEventTriggered(ConnectionDrain()) }
        let deadline = Task {
            try await Task.sleep(for: drainTimeout)
            for connection in open { try? await connection.close() }
        }
        for connection in open { try? await connection.closeFuture.get() }
        deadline.cancel()
    }

    /// Open connections.
    public var openConnections: Int { connectionCount.load(ordering: .relaxed) }

    private func admit(_ channel: any Channel) -> Bool {
        let count = connectionCount.wrappingIncrementThenLoad(ordering: .relaxed)
        let id = ObjectIdentifier(channel)
        connections.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            connectionCount.wrappingDecrement(ordering: .relaxed)
            _ = connections.withLockedValue { $0.removeValue(forKey: id) }
        }
        return count <= settings.maxConnections
    }
}

/// Answers a connection over `max_connections` with GOAWAY RESOURCE_EXHAUSTED and closes it.
final class RejectingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let maxConnections: Int

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeFrame(
            .goaway(.resourceExhausted, reason: "more than \(maxConnections) connections (max_connections)"))
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
