import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// The event loop's floor: the `--floor` ping-pong against a minimal SwiftNIO server in this process (one
/// event loop thread, one handler that answers each request-sized chunk with a prebuilt reply of the daemon's
/// reply size, flushed once per read). No framing, no protobuf, no lookup: what remains of jwksd's latency
/// above it is jwksd's own work; what lies between it and the socketpair floor is the event loop's.
enum BenchEventLoopFloor {
    /// Measures the ping-pong for `duration` (or `requests` round trips).
    static func measure(request: [UInt8], replyBytes: Int, duration: Duration, requests: Int?) async throws(BenchError)
        -> BenchReport
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-floor-\(UUID())")
        let path = directory.appendingPathComponent("nio.sock").path
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let requestBytes = request.count
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let server = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            FloorEchoHandler(requestBytes: requestBytes, replyBytes: replyBytes))
                    }
                }
                .bind(unixDomainSocketPath: path).get()
            let client = try BenchSocket.connect(path)
            let result = await BenchFloor.pingPong(
                client, request: request, replyBytes: replyBytes, duration: duration, requests: requests)
            close(client)
            try await server.close()
            try await group.shutdownGracefully()
            return try result.get()
        } catch let error as BenchError {
            try? await group.shutdownGracefully()
            throw error
        } catch {
            try? await group.shutdownGracefully()
            throw BenchError("event-loop floor: \(error)")
        }
    }
}

/// Answers every `requestBytes` received with a prebuilt reply of `replyBytes`, flushed once per read batch.
private final class FloorEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let requestBytes: Int
    private let reply: ByteBuffer
    private var pending = 0

    init(requestBytes: Int, replyBytes: Int) {
        self.requestBytes = requestBytes
        self.reply = ByteBuffer(repeating: 0x2A, count: replyBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += unwrapInboundIn(data).readableBytes
        while pending >= requestBytes {
            pending -= requestBytes
            context.write(wrapOutboundOut(reply), promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}
