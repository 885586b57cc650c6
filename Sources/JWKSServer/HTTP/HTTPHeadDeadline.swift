import NIOCore
import NIOHTTP1

/// Closes a connection whose request line and headers do not arrive within a time limit once their first
/// byte has (slowloris). It sits before the HTTP decoder and sees raw bytes; ``HTTPHeadMarker`` after the
/// decoder tells it when a head was decoded.
final class HTTPHeadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if timer == nil {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: timeout) { bound.value.close(promise: nil) }
        }
        context.fireChannelRead(data)
    }

    /// A head arrived: the bytes read so far made a request.
    func headArrived() {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        headArrived()
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
