import JWKSWire
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// One client connection: a thin handler around ``ConnectionStateMachine``. It parses frames in place from
/// each read (no per-frame pipeline hop), answers hits on the event loop from prepared replies into one
/// outbound buffer that is written and flushed once per read batch, and runs slow calls in tasks whose
/// replies return to the loop. Malformed input gets a GOAWAY with its status and reason, then the connection
/// closes. It is not generic: the router behind ``CallRouter`` owns the engine and its clock.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: any CallRouter
    private let metrics: ServerMetrics
    private let settings: ServerSettings
    private var decoder: FrameDecoder
    private var machine: ConnectionStateMachine
    private var tasks: [UInt32: Task<Void, Never>] = [:]
    private var peer: PeerCredentials?
    private let readPeerCredentials: Bool
    /// `settings.idleTimeout` as the event loop's time amount; nil when idle connections are kept.
    private let idleTimeout: TimeAmount?
    /// The one idle timer; it is not re-armed per call, it checks `idleSince` when it fires.
    private var idleTimer: Scheduled<Void>?
    /// When the connection last became idle (no call in flight); nil while calls are in flight.
    private var idleSince: NIODeadline?
    private var closed = false
    /// The bytes of a frame that has not fully arrived yet, carried to the next read.
    private var carried: ByteBuffer?
    /// Replies written since the last flush; sent as one buffer. Its bytes up to the reader index were
    /// already handed to the channel, so it is cleared (and its storage reused) before the next reply.
    private var outbound: ByteBuffer
    /// Whether writes are waiting for a flush.
    private var unflushed = false
    /// Whether a call completed since the last flush (the connection may have become idle).
    private var completedSinceFlush = false
    /// Metrics counted since the last flush.
    private var tally = MetricsTally()
    /// This connection's recent GetKey answers.
    private var replies = ReplyCache()

    /// Creates a handler.
    /// - Parameters:
    ///   - router: routes requests (a ``RequestDispatcher``).
    ///   - settings: limits and timeouts.
    ///   - peer: credentials to use instead of reading SO_PEERCRED (tests with an embedded channel).
    init(router: any CallRouter, settings: ServerSettings, peer: PeerCredentials? = nil) {
        self.router = router
        self.metrics = router.metrics
        self.settings = settings
        self.decoder = FrameDecoder(maximumPayloadBytes: settings.maxFrameBytes)
        self.machine = ConnectionStateMachine(maxCalls: settings.maxCallsPerConnection)
        self.peer = peer
        self.readPeerCredentials = peer == nil
        self.idleTimeout = settings.idleTimeout > .zero ? TimeAmount(settings.idleTimeout) : nil
        self.outbound = ByteBuffer()
    }

    func channelActive(context: ChannelHandlerContext) {
        if readPeerCredentials, let provider = context.channel as? any SocketOptionProvider {
            let credentials: EventLoopFuture<RawPeerCredentials> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: RawPeerCredentials.option)
            credentials.assumeIsolated().whenSuccess { value in
                self.peer = PeerCredentials(pid: value.pid, uid: value.uid, gid: value.gid)
            }
        }
        outbound = context.channel.allocator.buffer(capacity: Self.outboundCapacity)
        armIdleTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        metrics.record(&tally)
        closed = true
        idleTimer?.cancel()
        for task in tasks.values { task.cancel() }
        tasks.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        var bytes = unwrapInboundIn(data)
        if var partial = carried {
            carried = nil
            partial.writeBuffer(&bytes)
            bytes = partial
        }
        while !closed {
            let frame: Frame?
            do {
                frame = try decoder.decode(buffer: &bytes)
            } catch {
                goaway(error, context: context)
                return
            }
            guard let frame else { break }
            received(frame, context: context)
        }
        if bytes.readableBytes > 0, !closed {
            bytes.discardReadBytes()
            carried = bytes
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // A client that sends requests but does not read its replies stops being read until it catches up,
        // so unread replies cannot pile up without bound.
        context.channel.setOption(.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
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
        flush(context: context)
        closeIfDrained(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(context: context)
    }

    // MARK: - Calls

    private func received(_ frame: Frame, context: ChannelHandlerContext) {
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
        switch router.dispatch(method, payload: payload, peer: peer, tally: &tally, replies: &replies) {
        case .reply(let reply):
            _ = machine.callCompleted(callID: frame.callID)
            write(reply, callID: frame.callID, acceptCompressed: accept, context: context)
            completedSinceFlush = true
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
        case .watch(let stream):
            startWatch(stream, callID: frame.callID, context: context)
        }
    }

    private func finish(callID: UInt32, reply: Reply, acceptCompressed: Bool, context: ChannelHandlerContext) {
        tasks[callID] = nil
        guard !closed, machine.callCompleted(callID: callID) == .send else { return }
        write(reply, callID: callID, acceptCompressed: acceptCompressed, context: context)
        completedSinceFlush = true
        flush(context: context)
        closeIfDrained(context: context)
    }

    private func cancel(_ frame: Frame, context: ChannelHandlerContext) {
        switch machine.cancelReceived(callID: frame.callID) {
        case .cancel:
            tasks.removeValue(forKey: frame.callID)?.cancel()
            write(.error(.cancelled, callID: frame.callID, message: "cancelled by the client"), context: context)
            completedSinceFlush = true
            closeIfDrained(context: context)
        case .unknownCall:
            write(
                .error(.notFound, callID: frame.callID, message: "no call \(frame.callID) in flight to cancel"),
                context: context)
        }
    }

    // MARK: - Watch

    private func startWatch(_ stream: WatchStream, callID: UInt32, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        tasks[callID] = Task {
            for await event in stream.events {
                guard let payload = stream.payload(event) else { continue }
                bound.eventLoop.execute {
                    let handler = bound.value.handler
                    guard !handler.closed, handler.machine.isOpen(callID) else { return }
                    handler.write(Frame(kind: .message, callID: callID, payload: payload), context: bound.value.context)
                    handler.flush(context: bound.value.context)
                }
            }
        }
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
    /// instead of being copied into the outbound buffer.
    private static let gatherThreshold = 1_024
    /// The outbound buffer's starting capacity; one that grew past `outboundRetainLimit` (a large batch)
    /// is replaced rather than kept for the life of the connection.
    private static let outboundCapacity = 4_096
    private static let outboundRetainLimit = 65_536
    /// Replies batched beyond this many bytes are handed to the channel before the batch ends.
    private static let outboundHandOff = 16_384

    private func write(_ frame: Frame, context: ChannelHandlerContext) {
        if outbound.readableBytes == 0, outbound.writerIndex > 0 {
            if outbound.capacity > Self.outboundRetainLimit {
                outbound = context.channel.allocator.buffer(capacity: Self.outboundCapacity)
            } else {
                outbound.clear()
            }
        }
        unflushed = true
        if frame.payload.readableBytes >= Self.gatherThreshold {
            outbound.writeFrameHeader(frame)
            handOff(context: context)
            context.write(wrapOutboundOut(frame.payload), promise: nil)
            return
        }
        outbound.writeFrame(frame)
        if outbound.readableBytes >= Self.outboundHandOff { handOff(context: context) }
    }

    /// Hands the batched bytes to the channel (without flushing). The channel keeps a reference to the
    /// storage until the bytes are on the socket; moving the reader index marks them as sent here.
    private func handOff(context: ChannelHandlerContext) {
        guard outbound.readableBytes > 0 else { return }
        context.write(wrapOutboundOut(outbound), promise: nil)
        outbound.moveReaderIndex(to: outbound.writerIndex)
    }

    /// Sends everything written since the last flush, then records the batch's metrics and notes whether the
    /// connection became idle: the bookkeeping runs after the write, outside the replies' latency.
    private func flush(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            handOff(context: context)
            context.flush()
        }
        metrics.record(&tally)
        if completedSinceFlush {
            completedSinceFlush = false
            armIdleTimer(context: context)
        }
    }

    private func goaway(_ error: FrameError, context: ChannelHandlerContext) {
        goaway(error.status, reason: error.reason, context: context)
    }

    /// Sends GOAWAY with `status` and `reason` (the last frame on this connection), then closes it.
    private func goaway(_ status: StatusCode, reason: String, context: ChannelHandlerContext) {
        guard !closed else { return }
        machine.startClosing()
        write(.goaway(status, reason: reason), context: context)
        flush(context: context)
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
        guard let idleTimeout, machine.isIdle, !machine.isClosing, !closed else { return }
        let now = context.eventLoop.now
        idleSince = now
        if idleTimer == nil { scheduleIdleCheck(at: now + idleTimeout, context: context) }
    }

    private func scheduleIdleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.idleTimer = nil
            guard !self.closed, !self.machine.isClosing, self.machine.isIdle, let since = self.idleSince,
                let idleTimeout = self.idleTimeout
            else { return }
            let expiry = since + idleTimeout
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
