import NIOCore
import NIOHTTP1

/// The time limits of one HTTP connection, on one timer per connection (re-armed when it fires, never per
/// request: a schedule and a cancel per request cost 6 % of a keep-alive GET, and NIO's `IdleStateHandler`,
/// which completes a promise per write, 12 %):
/// - a request's line and headers must arrive within `request_timeout` once their first byte has, and a new
///   connection's first request within `request_timeout` of connecting (slowloris, silent connections);
/// - a connection with no request and no answer for `idle_timeout` is closed when nothing is being answered, or
///   when its client has stopped reading the answers (a `?kid=` wait in progress keeps it).
/// The timer looks every `min(request_timeout, idle_timeout)`, so each limit holds within twice its length.
/// It sits before the HTTP decoder and sees raw bytes; ``HTTPHeadMarker`` after the decoder reports heads and
/// answers.
final class HTTPConnectionTimer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let requestTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    /// The timer looks at least this often (the shorter limit): a head that starts, or an idle period that
    /// begins, after it was armed is caught at its next look, so a limit is enforced within twice its length.
    private let period: TimeAmount
    /// When the bytes of the head now pending started to arrive (nil: no head pending).
    private var pendingSince: NIODeadline?
    /// The last head decoded or answer written.
    private var lastActivity = NIODeadline.now()
    /// Requests decoded and not yet answered.
    private var unanswered = 0
    private var timer: Scheduled<Void>?

    init(requestTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.period = min(requestTimeout, idleTimeout)
    }

    func channelActive(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        pendingSince = now
        lastActivity = now
        arm(at: now + period, context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if pendingSince == nil { pendingSince = .now() }
        context.fireChannelRead(data)
    }

    /// A head was decoded: the bytes read so far made a request.
    func headArrived(unanswered: Int) {
        pendingSince = nil
        self.unanswered = unanswered
        lastActivity = .now()
    }

    /// An answer was written.
    func answered(unanswered: Int) {
        self.unanswered = unanswered
        lastActivity = .now()
    }

    private func arm(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.timer = nil
            handler.fire(context: context)
        }
    }

    private func fire(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let now = NIODeadline.now()
        let next = now + period
        if let since = pendingSince {
            guard now < since + requestTimeout else {
                context.close(promise: nil)
                return
            }
            arm(at: min(since + requestTimeout, next), context: context)
            return
        }
        let idleUntil = lastActivity + idleTimeout
        guard now >= idleUntil else {
            arm(at: min(idleUntil, next), context: context)
            return
        }
        if unanswered == 0 || !context.channel.isWritable {
            context.close(promise: nil)
        } else {
            // A request is being answered (a `?kid=` wait) for a client that reads: look again later.
            arm(at: next, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        pendingSince = nil
        context.fireChannelInactive()
    }
}
