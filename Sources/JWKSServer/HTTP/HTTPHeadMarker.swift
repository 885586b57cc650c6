import NIOCore
import NIOHTTP1

/// Sits between the HTTP decoder and NIO's pipelining handler: tells the ``HTTPConnectionTimer`` that a request
/// head was decoded or an answer written, and bounds the requests a client has sent but not yet had answered. NIO's pipelining handler holds
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

    private let timer: HTTPConnectionTimer
    private var unanswered = 0
    private var paused = false
    private var closing = false

    init(timer: HTTPConnectionTimer) {
        self.timer = timer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The rest of a read that overflowed is dropped with its connection.
        guard !closing else { return }
        if case .head = unwrapInboundIn(data) {
            unanswered += 1
            timer.headArrived(unanswered: unanswered)
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
            timer.answered(unanswered: unanswered)
            if paused, unanswered <= Self.pauseAt / 2 {
                paused = false
                context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
                context.read()
            }
        }
        context.write(data, promise: promise)
    }
}
