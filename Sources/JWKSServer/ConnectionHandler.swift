import Foundation
import JWKS
import JWKSCache
import JWKSConfig
import JWKSWire
import NIOCore
import SwiftProtobuf

#if canImport(Glibc)
    import Glibc
#endif

/// One client connection: a thin handler around ``ConnectionStateMachine``. Hits are answered on the event
/// loop from prepared replies and flushed once per read batch; slow calls run in tasks and their replies
/// return to the loop. Malformed input gets a GOAWAY with its status and reason, then the connection closes.
final class ConnectionHandler<C: Clock>: ChannelInboundHandler where C.Duration == Duration {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private let dispatcher: RequestDispatcher<C>
    private let settings: ServerSettings
    private var machine: ConnectionStateMachine
    private var tasks: [UInt32: Task<Void, Never>] = [:]
    private var peer: PeerCredentials?
    private let readPeerCredentials: Bool
    /// The one idle timer; it is not re-armed per call, it checks `idleSince` when it fires.
    private var idleTimer: Scheduled<Void>?
    /// When the connection last became idle (no call in flight); nil while calls are in flight.
    private var idleSince: NIODeadline?
    private var closed = false

    /// Creates a handler.
    /// - Parameters:
    ///   - dispatcher: routes requests.
    ///   - settings: limits and timeouts.
    ///   - peer: credentials to use instead of reading SO_PEERCRED (tests with an embedded channel).
    init(dispatcher: RequestDispatcher<C>, settings: ServerSettings, peer: PeerCredentials? = nil) {
        self.dispatcher = dispatcher
        self.settings = settings
        self.machine = ConnectionStateMachine(maxCalls: settings.maxCallsPerConnection)
        self.peer = peer
        self.readPeerCredentials = peer == nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if readPeerCredentials, let provider = context.channel as? any SocketOptionProvider {
            let credentials: EventLoopFuture<RawPeerCredentials> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: RawPeerCredentials.option)
            credentials.assumeIsolated().whenSuccess { value in
                self.peer = PeerCredentials(pid: value.pid, uid: value.uid, gid: value.gid)
            }
        }
        armIdleTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        idleTimer?.cancel()
        for task in tasks.values { task.cancel() }
        tasks.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        let frame = unwrapInboundIn(data)
        switch frame.kind {
        case .request:
            request(frame, context: context)
        case .cancel:
            cancel(frame, context: context)
        case .ping:
            write(Frame(kind: .pong, callID: frame.callID, payload: frame.payload), context: context)
        case .goaway:
            close(context: context)
        case .response, .message, .pong:
            goaway(
                FrameError(code: .unexpectedKind, reason: "a client may not send \(frame.kind) frames"),
                context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ConnectionDrain else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard !closed else { return }
        idleTimer?.cancel()
        for callID in machine.drain() {
            tasks.removeValue(forKey: callID)?.cancel()
            write(.error(.unavailable, callID: callID, message: "the server is shutting down"), context: context)
        }
        context.flush()
        closeIfDrained(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? FrameError {
            goaway(error, context: context)
        } else if let error = error as? ByteToMessageDecoderError {
            goaway(FrameError(code: .lengthTooLarge, reason: "\(error)"), context: context)
        } else {
            close(context: context)
        }
    }

    // MARK: - Calls

    private func request(_ frame: Frame, context: ChannelHandlerContext) {
        guard let method = frame.method else {
            write(
                .error(.unimplemented, callID: frame.callID, message: "method \(frame.code) is not implemented"),
                context: context)
            return
        }
        switch machine.requestReceived(callID: frame.callID, kind: method.isServerStreaming ? .stream : .unary) {
        case .start:
            break
        case .rejectReservedID:
            write(
                .error(.invalidArgument, callID: 0, message: "call id 0 is reserved for connection-level frames"),
                context: context)
            return
        case .rejectOverLimit:
            write(
                .error(
                    .resourceExhausted, callID: frame.callID,
                    message: "more than \(settings.maxCallsPerConnection) calls in flight on this connection"),
                context: context)
            return
        case .rejectClosing:
            write(
                .error(.unavailable, callID: frame.callID, message: "the connection is closing (server shutting down)"),
                context: context)
            return
        case .duplicateID:
            goaway(
                FrameError(code: .unexpectedKind, reason: "call id \(frame.callID) is already in flight"),
                context: context)
            return
        }
        idleSince = nil
        var payload = frame.payload
        if frame.flags.contains(.compressed) {
            do {
                payload = try WireCompression.decompress(payload, limit: settings.maxFrameBytes)
            } catch {
                goaway(error, context: context)
                return
            }
        }
        let accept = frame.flags.contains(.acceptCompressed)
        switch dispatcher.dispatch(method, payload: payload, peer: peer) {
        case .reply(let reply):
            _ = machine.callCompleted(callID: frame.callID)
            write(reply, callID: frame.callID, acceptCompressed: accept, context: context)
            armIdleTimer(context: context)
            closeIfDrained(context: context)
        case .deferred(let work):
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            let callID = frame.callID
            tasks[callID] = Task {
                let reply = await work()
                bound.eventLoop.execute {
                    bound.value.handler.finish(
                        callID: callID, reply: reply, acceptCompressed: accept, context: bound.value.context)
                }
            }
        case .watch(let request):
            startWatch(request, callID: frame.callID, context: context)
        }
    }

    private func finish(callID: UInt32, reply: Reply, acceptCompressed: Bool, context: ChannelHandlerContext) {
        tasks[callID] = nil
        guard !closed, machine.callCompleted(callID: callID) == .send else { return }
        write(reply, callID: callID, acceptCompressed: acceptCompressed, context: context)
        context.flush()
        armIdleTimer(context: context)
        closeIfDrained(context: context)
    }

    private func cancel(_ frame: Frame, context: ChannelHandlerContext) {
        switch machine.cancelReceived(callID: frame.callID) {
        case .cancel:
            tasks.removeValue(forKey: frame.callID)?.cancel()
            write(.error(.cancelled, callID: frame.callID, message: "cancelled by the client"), context: context)
            armIdleTimer(context: context)
            closeIfDrained(context: context)
        case .unknownCall:
            write(
                .error(.notFound, callID: frame.callID, message: "no call \(frame.callID) in flight to cancel"),
                context: context)
        }
    }

    // MARK: - Watch

    private func startWatch(_ request: Jwksd_V1_WatchRequest, callID: UInt32, context: ChannelHandlerContext) {
        let engine = dispatcher.engine
        var tenants = Set(request.tenants)
        for tenant in tenants {
            guard let found = engine.tenant(tenant) else {
                _ = machine.callCompleted(callID: callID)
                write(.error(.notFound, callID: callID, message: "unknown tenant \"\(tenant)\""), context: context)
                return
            }
            guard RequestDispatcher<C>.mayRead(found.config, peer: peer) else {
                _ = machine.callCompleted(callID: callID)
                write(
                    .error(.permissionDenied, callID: callID, message: "this peer may not watch tenant \"\(tenant)\""),
                    context: context)
                return
            }
        }
        if tenants.isEmpty {
            tenants = Set(engine.config.tenants.filter { RequestDispatcher<C>.mayRead($0, peer: peer) }.map(\.id))
        }
        let providers = Set(request.providers)
        let selected = tenants
        let events = engine.events()
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        tasks[callID] = Self.watchTask(
            events, to: bound, callID: callID, tenants: selected, providers: providers, engine: engine)
    }

    private static func watchTask(
        _ events: AsyncStream<EngineEvent>,
        to bound: NIOLoopBound<(handler: ConnectionHandler, context: ChannelHandlerContext)>,
        callID: UInt32, tenants: Set<String>, providers: Set<String>, engine: JWKSEngine<C>
    ) -> Task<Void, Never> {
        Task {
            await forward(events, to: bound, callID: callID, tenants: tenants, providers: providers, engine: engine)
        }
    }

    /// Sends each matching event as a MESSAGE frame until the stream or the task ends.
    private static func forward(
        _ events: AsyncStream<EngineEvent>,
        to bound: NIOLoopBound<(handler: ConnectionHandler, context: ChannelHandlerContext)>,
        callID: UInt32, tenants: Set<String>, providers: Set<String>, engine: JWKSEngine<C>
    ) async {
        for await event in events {
            guard tenants.contains(event.key.tenant), providers.isEmpty || providers.contains(event.key.description),
                let message = watchEvent(event, engine: engine)
            else { continue }
            let payload = RequestDispatcher<C>.encode(message)
            bound.eventLoop.execute {
                let handler = bound.value.handler
                let context = bound.value.context
                guard !handler.closed, handler.machine.isOpen(callID) else { return }
                handler.write(Frame(kind: .message, callID: callID, payload: payload), context: context)
                context.flush()
            }
        }
    }

    static func watchEvent(_ event: EngineEvent, engine: JWKSEngine<C>) -> Jwksd_V1_WatchEvent? {
        var message = Jwksd_V1_WatchEvent()
        message.tenant = event.key.tenant
        message.provider = event.key.provider
        message.at = Int64(Date().timeIntervalSince1970)
        switch event.kind {
        case .published(changed: true, let keys, _):
            message.kind = .keysChanged
            message.keyCount = UInt32(keys)
            message.kids =
                engine.entry(tenant: event.key.tenant, provider: event.key.provider)?.snapshot.record?.keySet.kids ?? []
        case .failed(let failure, _):
            message.kind = .failed
            message.error = failure.message
            message.keyCount = UInt32(
                engine.entry(tenant: event.key.tenant, provider: event.key.provider)?.snapshot.record?.keySet.keys.count
                    ?? 0)
        case .removed:
            message.kind = .removed
        case .published, .notModified, .fetchStarted:
            return nil
        }
        return message
    }

    // MARK: - Writing

    private func write(_ reply: Reply, callID: UInt32, acceptCompressed: Bool, context: ChannelHandlerContext) {
        var payload = reply.payload
        var flags: FrameFlags = []
        if acceptCompressed, reply.status == .ok {
            if let compressed = reply.compressed {
                payload = compressed
                flags = .compressed
            } else if payload.readableBytes >= settings.compressMinBytes {
                payload = WireCompression.compress(payload)
                flags = .compressed
            }
        }
        write(
            Frame(kind: .response, flags: flags, code: reply.status.rawValue, callID: callID, payload: payload),
            context: context)
    }

    /// Payloads at least this large go out as buffers of their own after the header (gathered by writev)
    /// instead of being copied behind it.
    private var gatherThreshold: Int { 1_024 }

    private func write(_ frame: Frame, context: ChannelHandlerContext) {
        let payloadBytes = frame.payload.readableBytes
        if payloadBytes >= gatherThreshold {
            var header = context.channel.allocator.buffer(capacity: Frame.headerBytes)
            header.writeFrameHeader(frame)
            context.write(wrapOutboundOut(header), promise: nil)
            context.write(wrapOutboundOut(frame.payload), promise: nil)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerBytes + payloadBytes)
        buffer.writeFrame(frame)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func goaway(_ error: FrameError, context: ChannelHandlerContext) {
        goaway(error.status, reason: error.reason, context: context)
    }

    /// Sends GOAWAY with `status` and `reason` (the last frame on this connection), then closes it.
    private func goaway(_ status: StatusCode, reason: String, context: ChannelHandlerContext) {
        guard !closed else { return }
        machine.startClosing()
        write(.goaway(status, reason: reason), context: context)
        context.flush()
        close(context: context)
    }

    /// After a drain, once the last call in flight has been answered: GOAWAY OK, then close.
    private func closeIfDrained(context: ChannelHandlerContext) {
        guard machine.isDrained else { return }
        goaway(.ok, reason: "the server is shutting down", context: context)
    }

    private func close(context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        for task in tasks.values { task.cancel() }
        tasks.removeAll()
        context.close(promise: nil)
    }

    /// Notes that the connection may have become idle. Costs a clock read per call, not a timer: the one
    /// timer is armed only when none is pending, and when it fires it re-arms for the remaining time.
    private func armIdleTimer(context: ChannelHandlerContext) {
        guard settings.idleTimeout > .zero, machine.isIdle, !machine.isClosing, !closed else { return }
        let now = context.eventLoop.now
        idleSince = now
        if idleTimer == nil { scheduleIdleCheck(at: now + TimeAmount(settings.idleTimeout), context: context) }
    }

    private func scheduleIdleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.idleTimer = nil
            guard !self.closed, !self.machine.isClosing, self.machine.isIdle, let since = self.idleSince else { return }
            let expiry = since + TimeAmount(self.settings.idleTimeout)
            guard context.eventLoop.now >= expiry else {
                self.scheduleIdleCheck(at: expiry, context: context)
                return
            }
            self.goaway(.ok, reason: "idle for \(self.settings.idleTimeout)", context: context)
        }
    }
}

/// The user event that starts a connection's graceful drain (see ``JWKSServer/shutdown(drainTimeout:)``).
struct ConnectionDrain: Sendable {}
