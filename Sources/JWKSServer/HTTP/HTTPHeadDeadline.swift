import NIOCore
import NIOHTTP1

/// Closes a connection whose request line and headers do not arrive within a time limit once their first
/// byte has (slowloris). It sits before the HTTP decoder and sees raw bytes; ``HTTPHeadMarker`` after the
/// decoder tells it when a head was decoded. One timer per connection at most, armed when bytes start a head
/// and left running across requests (it re-arms for the head pending when it fires): scheduling and cancelling
/// a timer per request cost 6 % of a keep-alive GET.
final class HTTPHeadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    /// When the bytes of the head now pending started to arrive (nil: no head pending).
    private var pendingSince: NIODeadline?
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    /// A new connection owes its first request within the limit too (silent connections would otherwise hold a
    /// slot of `max_connections` for the whole idle timeout).
    func channelActive(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        pendingSince = now
        arm(at: now + timeout, context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if pendingSince == nil {
            let now = NIODeadline.now()
            pendingSince = now
            if timer == nil { arm(at: now + timeout, context: context) }
        }
        context.fireChannelRead(data)
    }

    /// A head arrived: the bytes read so far made a request.
    func headArrived() {
        pendingSince = nil
    }

    private func arm(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.timer = nil
            guard let since = handler.pendingSince else { return }
            if NIODeadline.now() >= since + handler.timeout {
                context.close(promise: nil)
            } else {
                handler.arm(at: since + handler.timeout, context: context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        pendingSince = nil
        context.fireChannelInactive()
    }
}

/// Sits between the HTTP decoder and NIO's pipelining handler: tells an ``HTTPHeadDeadline`` that a request head
/// was decoded, and bounds the requests a client has sent but not yet had answered. NIO's pipelining handler holds
/// every decoded request until the ones before it are answered, and the decoder decodes all of a read at once, so
/// a client that pipelines thousands of requests and never reads made the daemon hold them all (2.4 MB per
/// connection). Past ``pauseAt`` unanswered requests this stops reading the socket until half are answered; past
/// ``closeAt`` (possible within one read) it closes the connection.
final class HTTPHeadMarker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Unanswered requests at which reading pauses.
    static let pauseAt = 64
    /// Unanswered requests at which the connection is closed.
    static let closeAt = 1_024

    private let deadline: HTTPHeadDeadline
    private var unanswered = 0
    private var paused = false
    private var closing = false

    init(deadline: HTTPHeadDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The rest of a read that overflowed is dropped with its connection.
        guard !closing else { return }
        if case .head = unwrapInboundIn(data) {
            deadline.headArrived()
            unanswered += 1
            if unanswered > Self.closeAt {
                closing = true
                context.close(promise: nil)
                return
            }
            if unanswered >= Self.pauseAt, !paused {
                paused = true
                context.channel.setOption(.autoRead, value: false).whenFailure { _ in }
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if paused, unanswered <= Self.pauseAt / 2 {
                paused = false
                context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
                context.read()
            }
        }
        context.write(data, promise: promise)
    }
}
