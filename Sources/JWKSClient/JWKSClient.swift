import Atomics
import Foundation
public import JWKSWire
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
import SwiftProtobuf

/// An async client for jwksd's Unix socket: every method, pipelining over one connection with call ids,
/// per-call deadlines, a Watch stream, and reconnection after the server restarts.
public final class JWKSClient: Sendable {
    private struct Connection: Sendable {
        let channel: any Channel
        let registry: CallRegistry
    }

    /// The socket path.
    public let socketPath: String
    private let group: any EventLoopGroup
    private let connection = NIOLockedValueBox<Task<Connection, any Error>?>(nil)
    private let nextCallID = ManagedAtomic<UInt32>(0)
    /// The largest reply payload accepted.
    public let maximumReplyBytes: Int

    /// Creates a client; it connects on the first call.
    /// - Parameters:
    ///   - socketPath: the daemon's socket.
    ///   - maximumReplyBytes: the largest reply payload accepted (after inflating).
    public init(socketPath: String, maximumReplyBytes: Int = 64 * 1_048_576) {
        self.socketPath = socketPath
        self.group = MultiThreadedEventLoopGroup.singleton
        self.maximumReplyBytes = maximumReplyBytes
    }

    /// Closes the connection; later calls reconnect.
    public func close() async {
        let task = connection.withLockedValue { connection in
            defer { connection = nil }
            return connection
        }
        if let open = try? await task?.value { try? await open.channel.close() }
    }

    // MARK: - Methods

    /// GetKey: one key by (tenant, provider, kid).
    /// - Parameters:
    ///   - tenant: the tenant.
    ///   - provider: the provider, or `nil` to search the tenant's providers in config order.
    ///   - kid: the key id.
    ///   - alg: narrow to keys usable with this algorithm.
    ///   - timeout: how long to wait, including a refetch for an unknown kid.
    /// - Returns: the key and its freshness.
    /// - Throws: ``RPCError`` with the server's status (NOT_FOUND, UNAVAILABLE, ...).
    public func getKey(
        tenant: String, provider: String? = nil, kid: String, alg: String? = nil, timeout: Duration = .seconds(5)
    ) async throws(RPCError) -> Jwksd_V1_GetKeyResponse {
        var request = Jwksd_V1_GetKeyRequest()
        request.tenant = tenant
        request.provider = provider ?? ""
        request.kid = kid
        request.alg = alg ?? ""
        request.timeoutMs = UInt32(clamping: Self.milliseconds(timeout))
        return try await unary(.getKey, request, timeout: timeout + .milliseconds(250))
    }

    /// GetKeySet: a provider's whole JWK Set as served.
    public func getKeySet(
        tenant: String, provider: String, acceptCompressed: Bool = true, timeout: Duration = .seconds(5)
    ) async throws(RPCError) -> Jwksd_V1_GetKeySetResponse {
        var request = Jwksd_V1_GetKeySetRequest()
        request.tenant = tenant
        request.provider = provider
        return try await unary(.getKeySet, request, flags: acceptCompressed ? .acceptCompressed : [], timeout: timeout)
    }

    /// VerifyJWT: verifies a compact JWS with a provider's keys and `verify:` rules.
    /// - Parameters:
    ///   - token: the compact JWS.
    ///   - tenant: the tenant.
    ///   - provider: the provider, or nil for the tenant's provider whose issuer equals the token's `iss`.
    ///   - audiences: audiences to check instead of the configured ones (none: the configured ones).
    ///   - timeout: the call's deadline, also sent as `timeout_ms` (a first load or kid-miss refetch).
    /// - Returns: the provider, kid, alg, header and claims (byte for byte) and whether the key was stale.
    /// - Throws: ``RPCError`` UNAUTHENTICATED with `reason: detail` when the token does not verify.
    public func verifyJWT(
        _ token: String, tenant: String, provider: String? = nil, audiences: [String] = [],
        timeout: Duration = .seconds(5)
    ) async throws(RPCError) -> Jwksd_V1_VerifyJWTResponse {
        var request = Jwksd_V1_VerifyJWTRequest()
        request.tenant = tenant
        request.provider = provider ?? ""
        request.token = token
        request.audiences = audiences
        request.timeoutMs = UInt32(clamping: timeout.components.seconds * 1_000)
        return try await unary(.verifyJWT, request, timeout: timeout)
    }

    /// ListTenants: the tenants this peer may read, with their providers.
    public func listTenants(timeout: Duration = .seconds(5)) async throws(RPCError)
        -> Jwksd_V1_ListTenantsResponse
    {
        try await unary(.listTenants, Jwksd_V1_ListTenantsRequest(), timeout: timeout)
    }

    /// Status: every provider's state (of one tenant when given).
    public func status(tenant: String? = nil, timeout: Duration = .seconds(5)) async throws(RPCError)
        -> Jwksd_V1_StatusResponse
    {
        var request = Jwksd_V1_StatusRequest()
        request.tenant = tenant ?? ""
        return try await unary(.status, request, flags: .acceptCompressed, timeout: timeout)
    }

    /// Refresh (admin): refetch now and wait for it.
    public func refresh(tenant: String, provider: String? = nil, timeout: Duration = .seconds(10))
        async throws(RPCError)
        -> Jwksd_V1_RefreshResponse
    {
        var request = Jwksd_V1_RefreshRequest()
        request.tenant = tenant
        request.provider = provider ?? ""
        request.timeoutMs = UInt32(clamping: Self.milliseconds(timeout))
        return try await unary(.refresh, request, timeout: timeout + .milliseconds(500))
    }

    /// Reload (admin): re-read the config file.
    public func reload(timeout: Duration = .seconds(10)) async throws(RPCError) -> Jwksd_V1_ReloadResponse {
        try await unary(.reload, Jwksd_V1_ReloadRequest(), timeout: timeout)
    }

    /// Health: readiness.
    public func health(timeout: Duration = .seconds(5)) async throws(RPCError) -> Jwksd_V1_HealthResponse {
        try await unary(.health, Jwksd_V1_HealthRequest(), timeout: timeout)
    }

    /// Watch: a stream of key-set changes; it ends when the caller stops iterating (a CANCEL is sent).
    /// - Parameters:
    ///   - tenants: the tenants to watch; empty for all this peer may read.
    ///   - providers: `tenant/provider` names to narrow to.
    /// - Returns: the events; the stream throws ``RPCError`` if the call fails.
    public func watch(tenants: [String] = [], providers: [String] = []) -> AsyncThrowingStream<
        Jwksd_V1_WatchEvent, any Error
    > {
        var request = Jwksd_V1_WatchRequest()
        request.tenants = tenants
        request.providers = providers
        let (events, output) = AsyncThrowingStream.makeStream(of: Jwksd_V1_WatchEvent.self)
        Task {
            do {
                let (callID, frames, open) = try await self.startStream(.watch, request)
                output.onTermination = { _ in self.sendCancel(callID, method: .watch, on: open) }
                for try await frame in frames {
                    output.yield(try Jwksd_V1_WatchEvent(serializedBytes: Array(buffer: frame.payload)))
                }
                output.finish()
            } catch {
                output.finish(throwing: error)
            }
        }
        return events
    }

    /// PING: measures a round trip.
    public func ping(timeout: Duration = .seconds(5)) async throws(RPCError) -> Duration {
        let start = ContinuousClock.now
        let reply = try await send(
            Frame(kind: .ping, callID: nextID(), payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])), timeout: timeout
        )
        guard reply.kind == .pong else { throw RPCError(.internal, "expected PONG, got \(reply.kind)") }
        return ContinuousClock.now - start
    }

    /// Sends a raw request and returns the raw RESPONSE frame (inflated); for tools such as `jwksd bench`.
    /// - Throws: ``RPCError`` for transport failures and deadlines (a non-OK status is returned, not thrown).
    public func rawCall(_ method: Method, payload: ByteBuffer, flags: FrameFlags = [], timeout: Duration)
        async throws(RPCError)
        -> Frame
    {
        try await send(.request(method, callID: nextID(), payload: payload, flags: flags), timeout: timeout)
    }

    // MARK: - Plumbing

    private func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: Method, _ request: Request, flags: FrameFlags = [], timeout: Duration
    ) async throws(RPCError) -> Response {
        let payload: ByteBuffer
        do {
            payload = ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
        } catch {
            throw RPCError(.internal, "cannot encode \(Request.protoMessageName): \(error)")
        }
        let frame = try await send(.request(method, callID: nextID(), payload: payload, flags: flags), timeout: timeout)
        guard frame.status == .ok else { throw RPCError(frame.status, frame.text) }
        do {
            return try Response(serializedBytes: Array(buffer: frame.payload))
        } catch {
            throw RPCError(.internal, "the reply is not a valid \(Response.protoMessageName): \(error)")
        }
    }

    private func nextID() -> UInt32 {
        var id = nextCallID.wrappingIncrementThenLoad(ordering: .relaxed)
        if id == 0 { id = nextCallID.wrappingIncrementThenLoad(ordering: .relaxed) }
        return id
    }

    private func send(_ request: Frame, timeout: Duration) async throws(RPCError) -> Frame {
        let open = try await connect()
        let callID = request.callID
        let channel = open.channel
        let registry = open.registry
        var buffer = channel.allocator.buffer(capacity: Frame.headerBytes + request.payload.readableBytes)
        buffer.writeFrame(request)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let reply: Frame
        do {
            reply = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Frame, any Error>) in
                    registry.register(callID, continuation, deadline: deadline, method: request.method)
                    channel.writeAndFlush(buffer).whenFailure { error in
                        registry.fail(
                            callID, RPCError(.unavailable, "cannot write to \(self.socketPath): \(error)"))
                    }
                }
            } onCancel: {
                if registry.fail(callID, RPCError(.cancelled, "the caller cancelled")),
                    let method = request.method
                {
                    self.sendCancel(callID, method: method, on: open)
                }
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.internal, "\(error)")
        }
        guard reply.flags.contains(.compressed) else { return reply }
        do {
            var inflated = reply
            inflated.payload = try WireCompression.decompress(reply.payload, limit: maximumReplyBytes)
            inflated.flags.remove(.compressed)
            return inflated
        } catch {
            throw RPCError(.internal, "the reply does not inflate: \(error.reason)")
        }
    }

    private func startStream(_ method: Method, _ request: some SwiftProtobuf.Message) async throws
        -> (UInt32, AsyncThrowingStream<Frame, any Error>, Connection)
    {
        let open = try await connect()
        let callID = nextID()
        let (frames, continuation) = AsyncThrowingStream.makeStream(of: Frame.self)
        open.registry.register(callID, stream: continuation)
        var buffer = open.channel.allocator.buffer(capacity: 64)
        buffer.writeFrame(
            .request(method, callID: callID, payload: ByteBuffer(bytes: try request.serializedBytes() as [UInt8])))
        try await open.channel.writeAndFlush(buffer)
        return (callID, frames, open)
    }

    /// Starts a stream call whose frames go to `handler` on the connection's event loop as they are read, and
    /// returns once its REQUEST is written: calls made on this client afterwards travel the same connection behind
    /// it (the server handles a connection's frames in order), unless that connection closes first, which ends
    /// the stream (`handler` receives `.ended`). The returned closure cancels the call.
    func subscribe(
        _ method: Method, _ request: some SwiftProtobuf.Message,
        handler: @escaping @Sendable (StreamDelivery) -> Void
    ) async throws(RPCError) -> @Sendable () -> Void {
        let open = try await connect()
        let callID = nextID()
        let payload: ByteBuffer
        do {
            payload = ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
        } catch {
            throw RPCError(.internal, "cannot encode the \(method) request: \(error)")
        }
        open.registry.register(callID, handler: handler)
        var buffer = open.channel.allocator.buffer(capacity: Frame.headerBytes + payload.readableBytes)
        buffer.writeFrame(.request(method, callID: callID, payload: payload))
        do {
            try await open.channel.writeAndFlush(buffer)
        } catch {
            let failure = RPCError(.unavailable, "cannot write to \(socketPath): \(error)")
            open.registry.fail(callID, failure)
            throw failure
        }
        return {
            if open.registry.fail(callID, RPCError(.cancelled, "the caller cancelled")) {
                self.sendCancel(callID, method: method, on: open)
            }
        }
    }

    private func sendCancel(_ callID: UInt32, method: Method, on open: Connection) {
        var buffer = open.channel.allocator.buffer(capacity: Frame.headerBytes)
        buffer.writeFrame(Frame(kind: .cancel, code: method.rawValue, callID: callID, payload: ByteBuffer()))
        open.channel.writeAndFlush(buffer, promise: nil)
    }

    /// The open connection, connecting (once, shared by concurrent callers) when there is none or the last
    /// one closed.
    private func connect() async throws(RPCError) -> Connection {
        let task = connection.withLockedValue { connection -> Task<Connection, any Error> in
            if let existing = connection { return existing }
            let task = Task { try await self.open() }
            connection = task
            return task
        }
        do {
            let open = try await task.value
            if open.channel.isActive { return open }
            connection.withLockedValue { if $0 == task { $0 = nil } }
            return try await connect()
        } catch let error as RPCError {
            connection.withLockedValue { if $0 == task { $0 = nil } }
            throw error
        } catch {
            connection.withLockedValue { if $0 == task { $0 = nil } }
            throw RPCError(.unavailable, "cannot connect to \(socketPath): \(error)")
        }
    }

    private func open() async throws -> Connection {
        let registry = CallRegistry()
        let limit = maximumReplyBytes
        let sweepInterval = Self.sweepInterval
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maximumPayloadBytes: limit)))
                    try channel.pipeline.syncOperations.addHandler(ClientHandler(registry: registry))
                }
            }
            .connect(unixDomainSocketPath: socketPath)
            .get()
        let sweeper = channel.eventLoop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) { _ in
            guard !registry.isEmpty else { return }
            for (callID, method) in registry.expire(now: .now()) {
                guard let method else { continue }
                var buffer = channel.allocator.buffer(capacity: Frame.headerBytes)
                buffer.writeFrame(Frame(kind: .cancel, code: method.rawValue, callID: callID, payload: ByteBuffer()))
                channel.writeAndFlush(buffer, promise: nil)
            }
        }
        channel.closeFuture.whenComplete { _ in sweeper.cancel() }
        return Connection(channel: channel, registry: registry)
    }

    /// How often a connection checks its calls' deadlines (their precision).
    static let sweepInterval = TimeAmount.milliseconds(20)

    /// Whole milliseconds in `duration` for a request's `timeout_ms` (through NIO's clamping conversion).
    private static func milliseconds(_ duration: Duration) -> Int64 {
        TimeAmount(duration).nanoseconds / 1_000_000
    }
}
