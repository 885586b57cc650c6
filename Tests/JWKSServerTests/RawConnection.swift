import Foundation
import JWKSServer
import JWKSTestSupport
import JWKSWire
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A plain blocking Unix-socket connection for sending arbitrary bytes and reading frames, with a receive
/// timeout so a test never hangs. Reads block a thread of their own, not one of the few threads of Swift's
/// cooperative pool that the server's deferred calls (and other tests running in parallel) need. The timeout
/// (10 s unless given) only keeps a broken test from hanging: with the suite running in parallel on two cores,
/// an answer that normally takes a millisecond has been seen to take three seconds.
final class RawConnection: @unchecked Sendable {
    // Used by one test task at a time; `closed` makes closing idempotent (a second close(2) of the number
    // could close a descriptor another test running in parallel has been given since).
    private let descriptor: Int32
    private let closed = NIOLockedValueBox(false)
    private var pending = ByteBuffer()

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    static func connect(_ path: String, timeout: Duration = .seconds(10)) async throws -> RawConnection {
        let descriptor = try UnixSocket.connect(path)
        UnixSocket.setReceiveTimeout(descriptor, timeout)
        return RawConnection(descriptor: descriptor)
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw Failure("send failed: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    func send(_ frame: Frame) throws {
        var buffer = ByteBuffer()
        buffer.writeFrame(frame)
        try send(Array(buffer: buffer))
    }

    /// The next frame, or `nil` when the server closed the connection.
    func readFrame() async throws -> Frame? {
        try await onOwnThread { try self.readFrameBlocking() }
    }

    /// Reads frames until the server closes, returning them.
    func readUntilClosed() async throws -> [Frame] {
        try await onOwnThread {
            var frames: [Frame] = []
            while let frame = try self.readFrameBlocking() { frames.append(frame) }
            return frames
        }
    }

    private func readFrameBlocking() throws -> Frame? {
        var decoder = FrameDecoder(maximumPayloadBytes: 64 * 1_048_576)
        while true {
            if let frame = try decoder.decode(buffer: &pending) { return frame }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            // A server that closes with our bytes unread resets the connection after its last frames.
            if count == 0 || (count < 0 && errno == ECONNRESET) { return nil }
            guard count > 0 else { throw Failure("recv failed or timed out: \(String(cString: strerror(errno)))") }
            pending.writeBytes(chunk[0..<count])
        }
    }

    func close() {
        guard
            closed.withLockedValue({ wasClosed in
                defer { wasClosed = true }
                return !wasClosed
            })
        else { return }
        Glibc.close(descriptor)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
