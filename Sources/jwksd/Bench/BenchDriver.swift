import JWKSWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One bench thread driving several connections with poll(2), the way redis-benchmark drives Redis: each
/// connection keeps `pipeline` calls in flight (one call id per pipeline slot); when replies arrive their
/// latencies are recorded and the slots' next requests go out, batched per read. The client does no protobuf
/// work and allocates nothing per call, and one thread (by default) leaves the cores to the daemon.
///
/// A thread with one connection and one call in flight has nothing to multiplex: it writes and then blocks
/// in `read`, like the `--floor` client (and like a synchronous client library), so the comparison with the
/// floor measures the daemon, not a poll(2) the floor does not make.
struct BenchDriver: Sendable {
    /// What the connections speak.
    enum Wire: Sendable {
        /// jwksd frames: replies matched by call id.
        case jwksd
        /// Redis's RESP: replies come in request order (the bench drives Redis through the same client, so a
        /// comparison measures the servers, not two load generators).
        case redis
    }

    let socketPath: String
    /// Complete requests: REQUEST frames whose bytes 8..<12 (the call id) are overwritten per send, or RESP
    /// commands.
    let frames: [[UInt8]]
    var wire: Wire = .jwksd
    /// How many connections this thread drives, and the index of its first one (spreads the targets).
    let connections: Int
    let firstConnection: Int
    let pipeline: Int
    let budget: BenchBudget
    /// Monotonic nanoseconds after which no new call starts.
    let deadline: UInt64
    /// How long to wait for any reply before the run fails.
    let timeout: Duration

    /// One connection's state, confined to the driver's thread.
    private final class Connection {
        let descriptor: Int32
        var sentAt: [UInt64]
        var target: Int
        var inFlight = 0
        var incoming: [UInt8] = Array(repeating: 0, count: 1 << 20)
        var filled = 0
        var outgoing: [UInt8] = []
        var written = 0
        /// RESP: the slots of the calls in flight, in the order their replies will come.
        var order: [Int] = []
        var orderHead = 0

        init(descriptor: Int32, pipeline: Int, target: Int) {
            self.descriptor = descriptor
            self.sentAt = Array(repeating: 0, count: pipeline)
            self.target = target
        }
    }

    /// One connection with one call in flight: blocking reads instead of poll(2).
    private var blocking: Bool { connections == 1 && pipeline == 1 }

    /// Runs until the budget or the deadline ends and every call in flight is answered.
    func run() -> Result<BenchReport, BenchError> {
        var report = BenchReport()
        var open: [Connection] = []
        defer { for connection in open { close(connection.descriptor) } }
        do throws(BenchError) {
            for index in 0..<connections {
                let descriptor = try BenchSocket.connect(socketPath, timeout: timeout)
                if !blocking { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
                let connection = Connection(
                    descriptor: descriptor, pipeline: pipeline,
                    target: ((firstConnection + index) * pipeline) % frames.count)
                open.append(connection)
                for slot in 0..<pipeline where budget.take() { enqueue(connection, slot: slot) }
                try flush(connection)
            }
            if blocking, let connection = open.first {
                while connection.inFlight > 0 {
                    try receive(connection, into: &report)
                    try flush(connection)
                }
                return .success(report)
            }
            var polls = open.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            let timeoutMilliseconds = Int32(timeout.components.seconds * 1_000 + 1)
            while open.contains(where: { $0.inFlight > 0 }) {
                for index in polls.indices {
                    polls[index].events =
                        Int16(POLLIN) | (open[index].written < open[index].outgoing.count ? Int16(POLLOUT) : 0)
                    polls[index].revents = 0
                }
                let ready = poll(&polls, nfds_t(polls.count), timeoutMilliseconds)
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw BenchError("poll: \(String(cString: strerror(errno)))")
                }
                if ready == 0 { throw BenchError("no reply within \(timeout) (--timeout)") }
                for index in polls.indices where polls[index].revents != 0 {
                    let connection = open[index]
                    if polls[index].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                        try receive(connection, into: &report)
                    }
                    try flush(connection)
                }
            }
        } catch {
            return .failure(error)
        }
        return .success(report)
    }

    private func enqueue(_ connection: Connection, slot: Int) {
        let frame = frames[connection.target]
        connection.target = connection.target + 1 == frames.count ? 0 : connection.target + 1
        let start = connection.outgoing.count
        connection.outgoing.append(contentsOf: frame)
        connection.sentAt[slot] = BenchSocket.now()
        connection.inFlight += 1
        if wire == .redis {
            connection.order.append(slot)
            return
        }
        let callID = UInt32(slot + 1)
        connection.outgoing[start + 8] = UInt8(truncatingIfNeeded: callID >> 24)
        connection.outgoing[start + 9] = UInt8(truncatingIfNeeded: callID >> 16)
        connection.outgoing[start + 10] = UInt8(truncatingIfNeeded: callID >> 8)
        connection.outgoing[start + 11] = UInt8(truncatingIfNeeded: callID)
    }

    /// Writes what the socket takes now; the rest waits for POLLOUT.
    private func flush(_ connection: Connection) throws(BenchError) {
        while connection.written < connection.outgoing.count {
            let sent = connection.outgoing.withUnsafeBytes { raw in
                write(connection.descriptor, raw.baseAddress! + connection.written, raw.count - connection.written)
            }
            if sent < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
                throw BenchError("write: \(String(cString: strerror(errno)))")
            }
            connection.written += sent
        }
        connection.outgoing.removeAll(keepingCapacity: true)
        connection.written = 0
    }

    /// Reads what is there, records every complete reply and queues the next calls. A read that leaves room
    /// in the buffer took everything there was, so the next read waits for poll(2) (or blocks) instead of
    /// asking again only to get EAGAIN.
    private func receive(_ connection: Connection, into report: inout BenchReport) throws(BenchError) {
        while true {
            let got = connection.incoming.withUnsafeMutableBytes { raw in
                read(connection.descriptor, raw.baseAddress! + connection.filled, raw.count - connection.filled)
            }
            if got == 0 { throw BenchError("the daemon closed the connection") }
            if got < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN, blocking { throw BenchError("no reply within \(timeout) (--timeout)") }
                if errno == EAGAIN { return }
                throw BenchError("read: \(String(cString: strerror(errno)))")
            }
            let drained = connection.filled + got < connection.incoming.count
            connection.filled += got
            let now = BenchSocket.now()
            var offset = 0
            if wire == .redis {
                offset = try receiveRESP(connection, now: now, into: &report)
            } else {
                try connection.incoming.withUnsafeBufferPointer { (bytes) throws(BenchError) in
                    while connection.filled - offset >= 12 {
                        let length =
                            Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
                            | Int(bytes[offset + 3])
                        guard connection.filled - offset >= 4 + length else { break }
                        let kind = bytes[offset + 5]
                        let code = bytes[offset + 7]
                        let callID =
                            Int(bytes[offset + 8]) << 24 | Int(bytes[offset + 9]) << 16 | Int(bytes[offset + 10]) << 8
                            | Int(bytes[offset + 11])
                        offset += 4 + length
                        if kind == FrameKind.goaway.rawValue {
                            throw BenchError("GOAWAY from the daemon (status \(code))")
                        }
                        guard kind == FrameKind.response.rawValue, (1...pipeline).contains(callID) else { continue }
                        connection.inFlight -= 1
                        report.record(
                            status: StatusCode(rawValue: code) ?? .unknown,
                            nanoseconds: now - connection.sentAt[callID - 1]
                        )
                        if now < deadline, budget.take() { enqueue(connection, slot: callID - 1) }
                    }
                }
            }
            if offset > 0 {
                let remaining = connection.filled - offset
                connection.incoming.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + offset, byteCount: remaining)
                }
                connection.filled = remaining
            }
            if connection.filled == connection.incoming.count { throw BenchError("a reply larger than 1 MiB") }
            if drained { return }
        }
    }

    /// Records the complete RESP replies in the buffer (bulk strings `$N\r\n…\r\n`, simple strings, errors)
    /// against the calls in order, and queues the next calls.
    /// - Returns: the bytes consumed.
    private func receiveRESP(_ connection: Connection, now: UInt64, into report: inout BenchReport) throws(BenchError)
        -> Int
    {
        var offset = 0
        while true {
            let available = connection.filled - offset
            guard available >= 4 else { break }
            let end: Int? = connection.incoming.withUnsafeBufferPointer { bytes in
                var index = offset + 1
                while index + 1 < connection.filled {
                    if bytes[index] == 13, bytes[index + 1] == 10 { return index }
                    index += 1
                }
                return nil
            }
            guard let lineEnd = end else { break }
            let type = connection.incoming[offset]
            var total = lineEnd + 2 - offset
            var ok = type == UInt8(ascii: "+") || type == UInt8(ascii: "$")
            if type == UInt8(ascii: "$") {
                let digits = connection.incoming[(offset + 1)..<lineEnd]
                guard let length = Int(String(decoding: digits, as: UTF8.self)) else {
                    throw BenchError("Redis sent a malformed reply")
                }
                if length < 0 {
                    ok = false  // a missing key
                } else {
                    total += length + 2
                }
            }
            guard connection.filled - offset >= total else { break }
            offset += total
            guard connection.orderHead < connection.order.count else {
                throw BenchError("Redis sent a reply to no request")
            }
            let slot = connection.order[connection.orderHead]
            connection.orderHead += 1
            if connection.orderHead == connection.order.count {
                connection.order.removeAll(keepingCapacity: true)
                connection.orderHead = 0
            }
            connection.inFlight -= 1
            report.record(status: ok ? .ok : .unknown, nanoseconds: now - connection.sentAt[slot])
            if now < deadline, budget.take() { enqueue(connection, slot: slot) }
        }
        return offset
    }
}
