import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A bare HTTP/1.1 client for the endpoint's tests: writes exactly the bytes given (so tests can send malformed,
/// pipelined or slow requests) and parses the responses that come back.
final class RawHTTP: Sendable {
    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        var text: String { String(decoding: body, as: UTF8.self) }

        /// The body as a JSON object.
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }

        /// The kids of a JWK Set body.
        var kids: [String] { ((json?["keys"] as? [[String: Any]]) ?? []).compactMap { $0["kid"] as? String } }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = NIOLockedValueBox<(bytes: [UInt8], closed: Bool)>(([], false))

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLockedValue { $0.bytes += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            received.withLockedValue { $0.closed = true }
        }
    }

    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects to `host:port`, or to a Unix socket when `unixPath` is given.
    static func connect(port: Int = 0, unixPath: String? = nil) async throws -> RawHTTP {
        let collector = Collector()
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
        let channel: any Channel
        if let unixPath {
            channel = try await bootstrap.connect(unixDomainSocketPath: unixPath).get()
        } else {
            channel = try await bootstrap.connect(host: "127.0.0.1", port: port).get()
        }
        return RawHTTP(channel: channel, collector: collector)
    }

    /// Stops or resumes reading from the socket (a client that does not read its responses).
    func setReading(_ reading: Bool) async throws {
        try await channel.setOption(.autoRead, value: reading).get()
        if reading { channel.read() }
    }

    /// Sends bytes as they are.
    func send(_ text: String) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(string: text))
    }

    /// A GET (or another method) with headers; keep-alive.
    func request(_ target: String, method: String = "GET", headers: [(String, String)] = []) async throws {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        try await send(text + "\r\n")
    }

    /// Waits for the next `count` responses (HEAD answers carry no body: pass their positions in `headOnly`).
    func responses(_ count: Int, headOnly: Set<Int> = [], within timeout: Duration = .seconds(10)) async throws
        -> [Response]
    {
        let deadline = ContinuousClock.now + timeout
        var parsedAt = -1
        while ContinuousClock.now < deadline {
            let (bytes, closed) = collector.received.withLockedValue { ($0.bytes, $0.closed) }
            // Parsed again only when more bytes came.
            if bytes.count != parsedAt, let (responses, used) = Self.parse(bytes, count: count, headOnly: headOnly) {
                collector.received.withLockedValue { $0.bytes.removeFirst(used) }
                return responses
            }
            parsedAt = bytes.count
            if closed { throw RawHTTPError.closed(String(decoding: bytes, as: UTF8.self)) }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw RawHTTPError.timedOut
    }

    /// One request, one response.
    func get(_ target: String, method: String = "GET", headers: [(String, String)] = []) async throws -> Response {
        try await request(target, method: method, headers: headers)
        return try await responses(1, headOnly: method == "HEAD" ? [0] : [])[0]
    }

    /// Whether the server closed the connection (waiting up to `timeout`).
    func isClosed(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if collector.received.withLockedValue({ $0.closed }) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return collector.received.withLockedValue { $0.closed }
    }

    func close() async {
        try? await channel.close()
    }

    /// Parses `count` complete responses from the front of `bytes`, or nil when they are not all there yet.
    static func parse(_ bytes: [UInt8], count: Int, headOnly: Set<Int>) -> ([Response], Int)? {
        var responses: [Response] = []
        var offset = 0
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while responses.count < count {
            guard let end = find(separator, in: bytes, from: offset) else { return nil }
            let head = String(decoding: bytes[offset..<end], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
            let headers = lines.compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (
                    String(line[..<colon]),
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                )
            }
            let length =
                headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
            let bodyLength = headOnly.contains(responses.count) || status == 304 ? 0 : length
            let bodyStart = end + separator.count
            guard bytes.count >= bodyStart + bodyLength else { return nil }
            responses.append(
                Response(status: status, headers: headers, body: Array(bytes[bodyStart..<bodyStart + bodyLength])))
            offset = bodyStart + bodyLength
        }
        return (responses, offset)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        haystack.withUnsafeBufferPointer { bytes in
            needle.withUnsafeBufferPointer { pattern in
                var index = start
                while index + pattern.count <= bytes.count {
                    if bytes[index] == pattern[0],
                        memcmp(bytes.baseAddress! + index, pattern.baseAddress!, pattern.count) == 0
                    {
                        return index
                    }
                    index += 1
                }
                return nil
            }
        }
    }
}

enum RawHTTPError: Error {
    case closed(String)
    case timedOut
}
