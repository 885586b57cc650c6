import JWKSWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One bench connection on its own thread: a blocking socket keeping `pipeline` requests in flight. Each
/// pipeline slot owns a call id; when its reply arrives the latency is recorded and the slot's next request
/// goes out, batched with the others answered by the same read, the way redis-benchmark drives Redis. The
/// client does no protobuf work and allocates nothing per call, so the figures are the daemon's.
struct BenchConnection: Sendable {
    let socketPath: String
    /// Complete REQUEST frames; bytes 8..<12 (the call id) are overwritten per send.
    let frames: [[UInt8]]
    let pipeline: Int
    let firstTarget: Int
    let budget: BenchBudget
    let deadline: UInt64
    /// How long to wait for a reply before giving up.
    let timeout: Duration

    /// Runs until the budget or the deadline ends, then waits for the calls in flight.
    func run() -> Result<BenchReport, BenchError> {
        let descriptor: Int32
        do {
            descriptor = try BenchSocket.connect(socketPath, timeout: timeout)
        } catch {
            return .failure(error)
        }
        defer { close(descriptor) }
        var report = BenchReport()
        var sentAt = [UInt64](repeating: 0, count: pipeline)
        var target = firstTarget % frames.count
        var outgoing: [UInt8] = []
        outgoing.reserveCapacity(pipeline * (frames.map(\.count).max() ?? 64))
        var inFlight = 0

        func enqueue(slot: Int) {
            let frame = frames[target]
            target = target + 1 == frames.count ? 0 : target + 1
            let start = outgoing.count
            outgoing.append(contentsOf: frame)
            let callID = UInt32(slot + 1)
            outgoing[start + 8] = UInt8(truncatingIfNeeded: callID >> 24)
            outgoing[start + 9] = UInt8(truncatingIfNeeded: callID >> 16)
            outgoing[start + 10] = UInt8(truncatingIfNeeded: callID >> 8)
            outgoing[start + 11] = UInt8(truncatingIfNeeded: callID)
            inFlight += 1
        }
        func flush() throws(BenchError) {
            guard !outgoing.isEmpty else { return }
            let now = BenchSocket.now()
            // Every call in this batch leaves now.
            var offset = 0
            while offset < outgoing.count {
                let length =
                    Int(outgoing[offset]) << 24 | Int(outgoing[offset + 1]) << 16
                    | Int(outgoing[offset + 2]) << 8 | Int(outgoing[offset + 3])
                let callID =
                    Int(outgoing[offset + 8]) << 24 | Int(outgoing[offset + 9]) << 16
                    | Int(outgoing[offset + 10]) << 8 | Int(outgoing[offset + 11])
                sentAt[callID - 1] = now
                offset += 4 + length
            }
            try BenchSocket.writeAll(descriptor, outgoing)
            outgoing.removeAll(keepingCapacity: true)
        }

        let start = BenchSocket.now()
        for slot in 0..<pipeline where budget.take() { enqueue(slot: slot) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var filled = 0
        do throws(BenchError) {
            try flush()
            while inFlight > 0 {
                let got = buffer.withUnsafeMutableBytes {
                    read(descriptor, $0.baseAddress! + filled, $0.count - filled)
                }
                if got == 0 { throw BenchError("the daemon closed the connection") }
                if got < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN { throw BenchError("no reply within \(timeout) (--timeout)") }
                    throw BenchError("read: \(String(cString: strerror(errno)))")
                }
                filled += got
                let now = BenchSocket.now()
                var offset = 0
                while filled - offset >= 12 {
                    let length =
                        Int(buffer[offset]) << 24 | Int(buffer[offset + 1]) << 16 | Int(buffer[offset + 2]) << 8
                        | Int(buffer[offset + 3])
                    guard filled - offset >= 4 + length else { break }
                    let kind = buffer[offset + 5]
                    let code = buffer[offset + 7]
                    let callID =
                        Int(buffer[offset + 8]) << 24 | Int(buffer[offset + 9]) << 16
                        | Int(buffer[offset + 10]) << 8 | Int(buffer[offset + 11])
                    offset += 4 + length
                    if kind == FrameKind.goaway.rawValue {
                        throw BenchError("GOAWAY from the daemon (status \(code))")
                    }
                    guard kind == FrameKind.response.rawValue, (1...pipeline).contains(callID) else { continue }
                    inFlight -= 1
                    report.record(status: StatusCode(rawValue: code) ?? .unknown, nanoseconds: now - sentAt[callID - 1])
                    if now < deadline, budget.take() { enqueue(slot: callID - 1) }
                }
                if offset > 0 {
                    buffer.withUnsafeMutableBytes { raw in
                        raw.baseAddress!.copyMemory(from: raw.baseAddress! + offset, byteCount: filled - offset)
                    }
                    filled -= offset
                }
                if filled == buffer.count { throw BenchError("a reply larger than 1 MiB") }
                try flush()
            }
        } catch {
            return .failure(error)
        }
        report.elapsed = .nanoseconds(Int64(BenchSocket.now() - start))
        return .success(report)
    }
}

/// A shared count of calls still allowed (`nil`: unlimited).
final class BenchBudget: Sendable {
    private let limited: Bool
    private let remaining: Atomic<Int>

    init(total: Int?) {
        limited = total != nil
        remaining = Atomic(total ?? 0)
    }

    /// Takes one call from the budget; `false` when it is used up.
    func take() -> Bool {
        !limited || remaining.subtract(1, ordering: .relaxed).newValue >= 0
    }
}
