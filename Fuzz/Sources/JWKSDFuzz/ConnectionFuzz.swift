import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import JWKSWire
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// The whole server, started once on a Unix socket in a temporary directory with a key-file provider; each
/// input is what one peer sends on a new connection before half-closing it. The connection must end (the
/// server answers and closes) within a few seconds whatever the bytes: a hang aborts, and libFuzzer keeps it.
final class ConnectionFuzz: Sendable {
    static let shared = ConnectionFuzz()

    let socketPath: String
    let server: JWKSServer

    private init() {
        let (engine, config) = FuzzEngine.make(
            name: "connection", server: "{ socket: ./s.sock, max_frame_bytes: 65536, max_calls_per_connection: 16 }")
        let settings = ServerSettings(config: config)
        server = JWKSServer(
            dispatcher: RequestDispatcher(engine: engine, settings: settings),
            group: MultiThreadedEventLoopGroup(numberOfThreads: 1))
        socketPath = settings.socketPath
        let server = self.server
        FuzzEngine.startBlocking { try await server.start() }
    }

    func run(_ bytes: [UInt8]) {
        UnixPeer.exchange(bytes, with: socketPath)
    }
}

/// One peer on a Unix socket: sends the bytes, half-closes, and reads until the server closes. The connection
/// must end within 5 s whatever the bytes: a hang is a failure libFuzzer keeps.
enum UnixPeer {
    static func exchange(_ bytes: [UInt8], with socketPath: String) {
        let descriptor = try! UnixSocket.connect(socketPath)
        defer { close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        let deadline = ContinuousClock.now + .seconds(5)
        var sent = 0
        var sink = [UInt8](repeating: 0, count: 65_536)
        var finishedWriting = false
        while ContinuousClock.now < deadline {
            if !finishedWriting {
                if sent < bytes.count {
                    let count = bytes[sent...].withUnsafeBytes {
                        send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                    }
                    if count > 0 { sent += count } else if errno != EAGAIN { finishedWriting = true }
                }
                if sent >= bytes.count {
                    shutdown(descriptor, Int32(SHUT_WR))
                    finishedWriting = true
                }
            }
            let count = sink.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return }
            if count < 0 {
                if errno == ECONNRESET || errno == EPIPE { return }
                var poller = pollfd(
                    fd: descriptor, events: Int16(POLLIN) | (finishedWriting ? 0 : Int16(POLLOUT)), revents: 0)
                _ = poll(&poller, 1, 10)
            }
        }
        fuzzFailure("the server neither answered nor closed within 5 s of the peer half-closing")
    }
}
