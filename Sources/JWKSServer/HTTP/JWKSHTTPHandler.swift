import JWKSCache
import JWKSWire
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP connection of the JWKS endpoint: hands each complete request to the ``JWKSHTTPResponder`` and
/// writes its answer. Requests are answered one at a time in order (NIO's pipelining handler before this one
/// holds the next until the answer's end is written); a `?kid=` miss runs the kid-miss lookup off the event
/// loop and answers when it returns. A request is answered only while the connection is writable. A request with a
/// body, or one asking to close, closes the connection after its answer. Idle connections are closed by the
/// ``HTTPConnectionTimer``.
final class JWKSHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: JWKSHTTPResponder
    private var peer: PeerCredentials?
    private var head: HTTPRequestHead?
    private var hasBody = false
    /// A complete request waiting for the connection to become writable (its client does not read).
    private var waiting: HTTPRequestHead?

    private let kidWaits: KidWaitBudget
    private let metrics: HTTPEndpointMetrics

    init(responder: JWKSHTTPResponder, kidWaits: KidWaitBudget, metrics: HTTPEndpointMetrics) {
        self.responder = responder
        self.kidWaits = kidWaits
        self.metrics = metrics
    }

    func channelActive(context: ChannelHandlerContext) {
        if responder.identifiesPeers, let provider = context.channel as? any SocketOptionProvider {
            let credentials: EventLoopFuture<RawPeerCredentials> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: RawPeerCredentials.option)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            credentials.whenSuccess { value in
                handler.value.peer = PeerCredentials(pid: value.pid, uid: value.uid, gid: value.gid)
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            hasBody = false
        case .body:
            // Bodies are not read: GET and HEAD have none; a request that sends one is answered, then its connection
            // closes.
            hasBody = true
        case .end:
            guard let head else { return }
            self.head = nil
            // A client that does not read its answers gets no more: the next request waits (and NIO's pipelining
            // handler reads nothing further) until the socket drains, so answers never pile up in memory.
            guard context.channel.isWritable else {
                waiting = head
                return
            }
            handle(head, kidChecked: false, context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let head = waiting {
            waiting = nil
            handle(head, kidChecked: false, context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    private func handle(_ head: HTTPRequestHead, kidChecked: Bool, context: ChannelHandlerContext) {
        switch responder.decide(head, peer: peer, kidChecked: kidChecked) {
        case .answer(let answer):
            write(answer, for: head, context: context)
        case .awaitKid(let request, let deadline):
            // Every slot taken (clients that ask and leave): answer with the set as it is.
            guard kidWaits.take() else {
                metrics.kidWait(ran: false)
                handle(head, kidChecked: true, context: context)
                return
            }
            metrics.kidWait(ran: true)
            let engine = responder.engine
            let kidWaits = self.kidWaits
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.makeFutureWithTask {
                _ = await engine.lookup(
                    tenant: request.tenant, provider: request.provider, kid: request.kid ?? "", alg: nil,
                    deadline: deadline)
                kidWaits.release()
            }.whenComplete { _ in
                let (handler, context) = bound.value
                guard context.channel.isActive else { return }
                handler.handle(head, kidChecked: true, context: context)
            }
        }
    }

    private func write(_ answer: JWKSHTTPAnswer, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        metrics.answered(answer.status)
        var headers = HTTPHeaders(answer.headers)
        headers.add(name: "Content-Length", value: "\(answer.body.readableBytes)")
        let close = !head.isKeepAlive || hasBody
        if close { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))),
            promise: nil)
        if head.method != .HEAD, answer.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
        }
        guard close else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }

    /// A malformed request (NIO's protocol error handler has answered it 400 with `Connection: close`) or any other
    /// error ends the connection at once.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError { metrics.answered(.badRequest) }
        context.close(promise: nil)
    }
}
