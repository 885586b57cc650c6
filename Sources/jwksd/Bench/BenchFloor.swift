import JWKSWire

#if canImport(Glibc)
    import Glibc
#endif

/// The machine's floor for the bench's traffic: a raw ping-pong over a Unix socket (socketpair) between two
/// threads, with jwksd's request and reply sizes, one call at a time. No framing, no protobuf, no event loop:
/// the kernel's round trip plus two thread wake-ups. `jwksd bench --floor` prints the daemon's latencies as
/// ratios to it.
enum BenchFloor {
    /// Measures the ping-pong for `duration` (or `requests` round trips).
    static func measure(request: [UInt8], replyBytes: Int, duration: Duration, requests: Int?) async throws(BenchError)
        -> BenchReport
    {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            throw BenchError("socketpair(): \(String(cString: strerror(errno)))")
        }
        let (client, server) = (pair[0], pair[1])
        let requestBytes = request.count
        let echo = Task {
            await BenchSocket.onThread {
                let reply = [UInt8](repeating: 0x2A, count: replyBytes)
                var incoming = [UInt8](repeating: 0, count: requestBytes)
                defer { close(server) }
                while true {
                    do throws(BenchError) {
                        try BenchSocket.readExactly(server, into: &incoming, count: requestBytes)
                        try BenchSocket.writeAll(server, reply)
                    } catch {
                        return
                    }
                }
            }
        }
        let result = await pingPong(
            client, request: request, replyBytes: replyBytes, duration: duration, requests: requests)
        close(client)
        await echo.value
        return try result.get()
    }

    /// The client side of a floor: write the request, read the reply, one call at a time, on a thread of its
    /// own, for `duration` (or `requests` round trips).
    static func pingPong(
        _ client: Int32, request: [UInt8], replyBytes: Int, duration: Duration, requests: Int?
    ) async -> Result<BenchReport, BenchError> {
        let budget = BenchBudget(total: requests)
        return await BenchSocket.onThread { () -> Result<BenchReport, BenchError> in
            var report = BenchReport()
            var reply = [UInt8](repeating: 0, count: replyBytes)
            let start = BenchSocket.now()
            let deadline = BenchSocket.deadline(from: start, after: duration, requests: requests)
            do throws(BenchError) {
                while budget.take() {
                    let sent = BenchSocket.now()
                    guard sent < deadline else { break }
                    try BenchSocket.writeAll(client, request)
                    try BenchSocket.readExactly(client, into: &reply, count: replyBytes)
                    report.record(status: .ok, nanoseconds: BenchSocket.now() - sent)
                }
            } catch {
                return .failure(error)
            }
            report.elapsed = .nanoseconds(Int64(BenchSocket.now() - start))
            return .success(report)
        }
    }

    /// The size in bytes of the daemon's reply frame to `request` (one call on a fresh connection).
    static func replyBytes(socketPath: String, request: [UInt8]) throws(BenchError) -> Int {
        let descriptor = try BenchSocket.connect(socketPath)
        defer { close(descriptor) }
        var frame = request
        frame[11] = 1
        try BenchSocket.writeAll(descriptor, frame)
        var header = [UInt8](repeating: 0, count: 4)
        try BenchSocket.readExactly(descriptor, into: &header, count: 4)
        return 4 + (Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3]))
    }
}
