import JWKSWire
import NIOCore
import NIOEmbedded

@testable import JWKSServer

/// A ``ConnectionHandler`` on a `NIOAsyncTestingChannel`: bytes in, frames out, no socket. Calls that complete
/// on the engine's tasks (a kid miss waiting for its refetch) reach it from other threads, which this channel
/// accepts and `EmbeddedChannel` does not. Every read is bounded, so a broken test fails instead of hanging.
final class TestingConnection: Sendable {
    let channel: NIOAsyncTestingChannel

    private init(channel: NIOAsyncTestingChannel) {
        self.channel = channel
    }

    /// A connected channel with a handler for `dispatcher`, as peer `uid` (0, an admin, by default), sharing
    /// `quotas` with other connections when given.
    static func open(
        _ dispatcher: RequestDispatcher, uid: UInt32 = 0, quotas: SharedQuotas? = nil
    ) async throws -> TestingConnection {
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(
                    router: dispatcher, settings: dispatcher.settings, quotas: quotas,
                    peer: PeerCredentials(pid: 1, uid: uid, gid: uid)))
        }
        try await channel.connect(to: try SocketAddress(unixDomainSocketPath: "/tmp/jwksd-testing.sock"))
        return TestingConnection(channel: channel)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeInbound(ByteBuffer(bytes: bytes))
    }

    func send(_ frame: Frame) async throws {
        var buffer = ByteBuffer()
        buffer.writeFrame(frame)
        try await channel.writeInbound(buffer)
    }

    /// The frames written until `count` have arrived (a write may carry several).
    func frames(_ count: Int, within timeout: Duration = .seconds(10)) async throws -> [Frame] {
        try await Self.bounded(timeout, "fewer than \(count) frames within \(timeout)") {
            var frames: [Frame] = []
            var decoder = FrameDecoder(maximumPayloadBytes: 16 * 1_048_576)
            while frames.count < count {
                var buffer = try await self.channel.waitForOutboundWrite(as: ByteBuffer.self)
                while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
            }
            return frames
        }
    }

    /// The next frame.
    func frame() async throws -> Frame { try await frames(1)[0] }

    /// Waits until the handler has closed the channel.
    func closed(within timeout: Duration = .seconds(10)) async throws {
        try await Self.bounded(timeout, "the channel was not closed within \(timeout)") {
            try await self.channel.closeFuture.get()
        }
    }

    /// `body`'s result, or ``Timeout`` saying `failure` when it takes longer than `timeout`.
    private static func bounded<T: Sendable>(
        _ timeout: Duration, _ failure: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw Timeout(description: failure)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// Closes the channel; whether nothing was left unread either way.
    func finish() async throws -> Bool {
        try await channel.finish(acceptAlreadyClosed: true).isClean
    }

    struct Timeout: Error, CustomStringConvertible {
        var description: String
    }
}
