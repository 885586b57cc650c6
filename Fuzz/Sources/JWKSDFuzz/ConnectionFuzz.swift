import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
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
    let server: JWKSServer<ContinuousClock>

    private init() {
        let directory = NSTemporaryDirectory() + "jwksd-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try! FuzzKeys.document.write(toFile: directory + "/keys.json", atomically: true, encoding: .utf8)
        let config = try! ConfigLoader.load(
            text: """
                version: 1
                server: { socket: ./s.sock, max_frame_bytes: 65536, max_calls_per_connection: 16 }
                tenants:
                  acme:
                    providers:
                      disk: { file: keys.json, kid_miss_cooldown: 1s }
                  locked:
                    allowed_uids: [4242]
                    providers:
                      disk: { file: keys.json }
                """, baseDirectory: directory)
        let engine = JWKSEngine(
            config: config, clock: ContinuousClock(), transport: FuzzNoNetwork(),
            prepare: PreparedReplies.preparer(compressMinBytes: 256))
        engine.start()
        let settings = ServerSettings(config: config)
        server = JWKSServer(
            dispatcher: RequestDispatcher(engine: engine, settings: settings),
            group: MultiThreadedEventLoopGroup(numberOfThreads: 1))
        socketPath = settings.socketPath
        let started = DispatchSemaphore(value: 0)
        let server = self.server
        Task {
            try! await server.start()
            started.signal()
        }
        started.wait()
        Thread.sleep(forTimeInterval: 0.2)  // the provider's first load
    }

    func run(_ bytes: [UInt8]) {
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
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN) | (finishedWriting ? 0 : Int16(POLLOUT)), revents: 0)
                _ = poll(&poller, 1, 10)
            }
        }
        fuzzFailure("the server neither answered nor closed within 5 s of the peer half-closing")
    }
}

/// No HTTP in the fuzzed server: its provider is a file.
struct FuzzNoNetwork: HTTPTransport {
    func get(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse {
        throw FetchFailure(code: .transport, message: "no network while fuzzing")
    }
}

/// A small real key set (Ed25519, P-256) for the fuzzed server.
enum FuzzKeys {
    static let document = """
        {"keys":[{"kty":"OKP","crv":"Ed25519","kid":"disk-1","use":"sig","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},\
        {"kty":"EC","crv":"P-256","kid":"disk-2","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}
        """
}
