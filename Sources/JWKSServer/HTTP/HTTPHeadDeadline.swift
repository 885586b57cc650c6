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

/// Tells an ``HTTPHeadDeadline`` that the decoder produced a request head.
final class HTTPHeadMarker: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let deadline: HTTPHeadDeadline

    init(deadline: HTTPHeadDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { deadline.headArrived() }
        context.fireChannelRead(data)
    }
}
