import JWKSWire
import NIOCore

/// The client side of a connection: hands each frame to its call, answers PING, and fails every call on
/// GOAWAY or close.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private let registry: CallRegistry
    private var goaway: RPCError?

    init(registry: CallRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.kind {
        case .response, .message, .pong:
            registry.deliver(frame)
        case .goaway:
            goaway = RPCError(
                frame.status == .ok ? .unavailable : frame.status, "server sent GOAWAY: \(frame.text)")
            registry.closeAll(goaway!)
        case .ping:
            var buffer = context.channel.allocator.buffer(capacity: Frame.headerBytes + frame.payload.readableBytes)
            buffer.writeFrame(Frame(kind: .pong, callID: frame.callID, payload: frame.payload))
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        case .request, .cancel:
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        registry.closeAll(goaway ?? RPCError(.unavailable, "the connection to jwksd closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        registry.closeAll(RPCError(.internal, "protocol error from the server: \(error)"))
        context.close(promise: nil)
    }
}
