import JWKSCache
import JWKSWire
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// One client connection: a thin handler around ``ConnectionStateMachine``. It parses frames in place from
/// each read (no per-frame pipeline hop), answers hits on the event loop from prepared replies into one
/// outbound buffer that is written and flushed once per read batch, and runs slow calls in tasks whose
/// replies return to the loop. Malformed input gets a GOAWAY with its status and reason, then the connection
/// closes.
///
/// What a peer can make it hold is bounded: a partial frame by `max_frame_bytes` and, across connections, by
/// ``SharedQuotas``; unread replies by the channel's writability (reading stops); a Watch's unread messages by
/// ``ServerSettings/watchBacklogBytes`` (the Watch then ends RESOURCE_EXHAUSTED); connections and Watch
/// streams per uid by ``SharedQuotas``.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: RequestDispatcher
    private let metrics: ServerMetrics
    private let settings: ServerSettings
    private let quotas: SharedQuotas
    /// The uid whose connection slot this connection holds, once taken.
    private var connectionSlot: UInt32?
    /// Watch calls that hold one of the peer's Watch slots.
    private var watchSlots: Set<UInt32> = []
    /// Bytes of each Watch's messages written while the channel was not writable (reset when it is again).
    private var watchBacklog: [UInt32: Int] = [:]
    /// Bytes of the carried partial frame counted in the shared quota.
    private var carriedBytes = 0
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
    /// Replies this connection compressed itself (not prepared at publication): only replies built per call
    /// (Status, ListTenants, a Refresh) ever are.
    private(set) var compressedHere = 0

    /// Creates a handler.
    /// - Parameters:
    ///   - router: routes requests.
    ///   - settings: limits and timeouts.
    ///   - quotas: the limits shared with the server's other connections (a new set when nil).
    ///   - peer: credentials to use instead of reading SO_PEERCRED (tests with an embedded channel).
    init(
        router: RequestDispatcher, settings: ServerSettings, quotas: SharedQuotas? = nil, peer: PeerCredentials? = nil
    ) {
        self.router = router
        self.metrics = router.metrics
        self.settings = settings
        self.quotas = quotas ?? SharedQuotas(settings: settings)
        self.decoder = FrameDecoder(maximumPayloadBytes: settings.maxFrameBytes)
        self.machine = ConnectionStateMachine(
            maxCalls: settings.maxCallsPerConnection, maxStreams: settings.maxWatchesPerUID)
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
        context.fireChannelActive()
        // Credentials read on the loop arrive at once; a peer that already holds its share of connections is
        // turned away before it can send anything.
        if let peer {
            guard quotas.acquireConnection(uid: peer.uid) else {
                goaway(
                    FrameError(
                        code: .overQuota,
                        reason:
                            "uid \(peer.uid) already holds \(quotas.connectionsPerUID) connections (max_connections_per_uid)"
                    ), context: context)
                return
            }
            connectionSlot = peer.uid
        }
        armIdleTimer(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        metrics.record(&tally)
        closed = true
        idleTimer?.cancel()
        releaseHeld()
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
        guard !closed else { return }
        if bytes.readableBytes > 0 {
            bytes.discardReadBytes()
            carried = bytes
        }
        // The partial frame carried to the next read counts against the bytes all connections may hold.
        let held = carried?.readableBytes ?? 0
        guard quotas.adjustPartialBytes(by: held - carriedBytes) else {
            goaway(
                FrameError(
                    code: .overQuota,
                    reason:
                        "partial frames of all connections would hold more than \(quotas.maxPartialFrameBytes) bytes; send whole frames"
                ), context: context)
            return
        }
        carriedBytes = held
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // A client that sends requests but does not read its replies stops being read until it catches up,
        // so unread replies cannot pile up without bound.
        context.channel.setOption(.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        if context.channel.isWritable { watchBacklog.removeAll() }
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
            releaseWatchSlot(callID)
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
        let kind: ConnectionStateMachine.CallKind = method.isServerStreaming ? .stream : .unary
        switch machine.admission(callID: frame.callID, kind: kind) {
        case nil, .start:  // admitted (admission never opens a call itself)
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
        case .rejectTooManyStreams:
            write(
                .error(
                    .resourceExhausted, callID: frame.callID,
                    message: "more than \(settings.maxWatchesPerUID) Watch streams on this connection"),
                context: context)
            return
        case .rejectClosing:
            write(
                .error(.unavailable, callID: frame.callID, message: "the connection is closing (server shutting down)"),
                context: context)
            return
        case .duplicateID:
            goaway(
                FrameError(code: .duplicateCallID, reason: "call id \(frame.callID) is already in flight"),
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
            // Answered at once: the call was never opened.
            write(reply, callID: frame.callID, acceptCompressed: accept, context: context)
            completedSinceFlush = true
            closeIfDrained(context: context)
        case .deferred(let work):
            // A waiting call holds memory until its work ends, even after its connection closes (its task is
            // cancelled, and ends at its next suspension): the peer's waiting calls are bounded across connections.
            let waitingUID = peer?.uid
            if let waitingUID, !quotas.acquireWaiting(uid: waitingUID) {
                tally.answered(method, .resourceExhausted)
                write(
                    .error(
                        .resourceExhausted, callID: frame.callID,
                        message:
                            "uid \(waitingUID) already has \(quotas.waitingPerUID) calls waiting (max_waiting_calls_per_uid)"
                    ), context: context)
                completedSinceFlush = true
                closeIfDrained(context: context)
                return
            }
            let token = machine.open(callID: frame.callID, kind: kind)
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            let callID = frame.callID
            let quotas = self.quotas
            tasks[callID] = Task {
                let reply = await work()
                if let waitingUID { quotas.releaseWaiting(uid: waitingUID) }
                bound.eventLoop.execute {
                    bound.value.handler.finish(
                        callID: callID, token: token, reply: reply, acceptCompressed: accept,
                        context: bound.value.context)
                }
            }
        case .watch(let stream):
            startWatch(
                stream, callID: frame.callID, token: machine.open(callID: frame.callID, kind: kind), context: context)
        }
    }

    /// A deferred call's reply is ready; it is sent only if the call is still the one that asked (a CANCEL
    /// and a new call with the same id make the late reply stale).
    private func finish(
        callID: UInt32, token: UInt64, reply: Reply, acceptCompressed: Bool, context: ChannelHandlerContext
    ) {
        guard !closed, machine.callCompleted(callID: callID, token: token) == .send else { return }
        tasks[callID] = nil
        write(reply, callID: callID, acceptCompressed: acceptCompressed, context: context)
        completedSinceFlush = true
        flush(context: context)
        closeIfDrained(context: context)
    }

    private func cancel(_ frame: Frame, context: ChannelHandlerContext) {
        switch machine.cancelReceived(callID: frame.callID) {
        case .cancel(let kind):
            tasks.removeValue(forKey: frame.callID)?.cancel()
            if kind == .stream { releaseWatchSlot(frame.callID) }
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

    /// Starts a Watch: takes one of the peer's Watch slots, then forwards the engine's notices. The task waits
    /// for the event loop to take each message, so a busy loop slows the task instead of queueing work; a Watch
    /// that falls behind its notice buffer, or whose client does not read, ends RESOURCE_EXHAUSTED.
    private func startWatch(_ stream: WatchStream, callID: UInt32, token: UInt64, context: ChannelHandlerContext) {
        if let peer {
            guard quotas.acquireWatch(uid: peer.uid) else {
                _ = machine.callCompleted(callID: callID, token: token)
                write(
                    .error(
                        .resourceExhausted, callID: callID,
                        message:
                            "uid \(peer.uid) already holds \(quotas.watchesPerUID) Watch streams (max_watches_per_uid)"),
                    context: context)
                completedSinceFlush = true
                return
            }
            watchSlots.insert(callID)
        }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let bufferLimit = settings.watchBufferEvents
        tasks[callID] = Task {
            var selection = stream.selection
            for await notice in stream.notices {
                switch notice {
                case .event(let event):
                    guard let payload = stream.payload(event, selection) else { continue }
                    let open = try? await bound.eventLoop.submit {
                        bound.value.handler.watchItem(
                            payload, callID: callID, token: token, context: bound.value.context)
                    }.get()
                    guard open == true else { return }
                case .registryChanged(let generation):
                    switch stream.reselect(selection) {
                    case .success(let next):
                        selection = next
                        // Provider order or access may have changed without any provider's event: say so.
                        guard let payload = stream.reloaded?(generation) else { continue }
                        let open = try? await bound.eventLoop.submit {
                            bound.value.handler.watchItem(
                                payload, callID: callID, token: token, context: bound.value.context)
                        }.get()
                        guard open == true else { return }
                    case .failure(let error):
                        bound.eventLoop.execute {
                            bound.value.handler.endWatch(
                                callID: callID, token: token, reply: .error(error), context: bound.value.context)
                        }
                        return
                    }
                }
            }
            // The notices end only when the task is cancelled or this Watch fell too far behind.
            guard !Task.isCancelled else { return }
            bound.eventLoop.execute {
                bound.value.handler.endWatch(
                    callID: callID, token: token,
                    reply: .error(
                        RPCError(
                            .resourceExhausted,
                            "this Watch fell more than \(bufferLimit) events behind; subscribe again and re-read the key sets"
                        )),
                    context: bound.value.context)
            }
        }
    }

    /// Writes one Watch message, unless the call is gone or its client has stopped reading for too long.
    /// - Returns: whether the Watch is still open.
    private func watchItem(_ payload: ByteBuffer, callID: UInt32, token: UInt64, context: ChannelHandlerContext)
        -> Bool
    {
        guard !closed, machine.isOpen(callID, token: token) else { return false }
        if !context.channel.isWritable {
            let backlog = watchBacklog[callID, default: 0] + Frame.headerBytes + payload.readableBytes
            guard backlog <= settings.watchBacklogBytes else {
                endWatch(
                    callID: callID, token: token,
                    reply: .error(
                        RPCError(
                            .resourceExhausted,
                            "the client has not read this Watch's messages (\(backlog) bytes waiting; the limit is \(settings.watchBacklogBytes))"
                        )), context: context)
                return false
            }
            watchBacklog[callID] = backlog
        }
        write(Frame(kind: .message, callID: callID, payload: payload), context: context)
        flush(context: context)
        return true
    }

    /// Ends a Watch with its final RESPONSE, if the call is still open.
    private func endWatch(callID: UInt32, token: UInt64, reply: Reply, context: ChannelHandlerContext) {
        guard !closed, machine.callCompleted(callID: callID, token: token) == .send else { return }
        tasks.removeValue(forKey: callID)?.cancel()
        releaseWatchSlot(callID)
        write(reply, callID: callID, acceptCompressed: false, context: context)
        completedSinceFlush = true
        flush(context: context)
        closeIfDrained(context: context)
    }

    private func releaseWatchSlot(_ callID: UInt32) {
        watchBacklog[callID] = nil
        guard watchSlots.remove(callID) != nil, let peer else { return }
        quotas.releaseWatch(uid: peer.uid)
    }

    /// Gives back everything this connection holds in the shared quotas and stops its work.
    private func releaseHeld() {
        for task in tasks.values { task.cancel() }
        tasks.removeAll()
        for callID in watchSlots { releaseWatchSlot(callID) }
        if let uid = connectionSlot {
            connectionSlot = nil
            quotas.releaseConnection(uid: uid)
        }
        if carriedBytes > 0 {
            _ = quotas.adjustPartialBytes(by: -carriedBytes)
            carriedBytes = 0
        }
        carried = nil
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
                compressedHere += 1
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
        releaseHeld()
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
