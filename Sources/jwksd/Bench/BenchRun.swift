import Foundation
import Histogram
import JWKSWire
import NIOCore
import Synchronization

/// One measurement: `connections` connections keeping `pipeline` calls in flight each, driven by `threads`
/// ``BenchDriver`` threads (connections are spread over them).
struct BenchRun: Sendable {
    let socketPath: String
    let method: Method
    let targets: [ByteBuffer]
    let connections: Int
    let pipeline: Int
    let flags: FrameFlags
    /// How long a connection waits for a reply before the run fails.
    var timeout: Duration = .seconds(5)
    /// Client threads.
    var threads = 1
    /// What the connections speak (Redis: `targets` are ignored; every call is `GET jwksd-bench`).
    var wire: BenchDriver.Wire = .jwksd

    /// The RESP command every Redis call sends.
    static let redisGet = Array("*2\r\n$3\r\nGET\r\n$11\r\njwksd-bench\r\n".utf8)

    /// The targets as complete REQUEST frames (call id 0; each send patches it), or the Redis command.
    var frames: [[UInt8]] {
        if wire == .redis { return [Self.redisGet] }
        return targets.map { payload in
            var buffer = ByteBuffer()
            buffer.writeFrame(.request(method, callID: 0, payload: payload, flags: flags))
            return Array(buffer: buffer)
        }
    }

    /// Runs until `duration` passes or `requests` calls completed, and merges every connection's results.
    func measure(duration: Duration, requests: Int?) async throws(BenchError) -> BenchReport {
        let frames = self.frames
        guard !frames.isEmpty else { throw BenchError("nothing to look up") }
        let budget = BenchBudget(total: requests)
        let start = BenchSocket.now()
        let deadline = BenchSocket.deadline(from: start, after: duration, requests: requests)
        // A daemon in this process (`jwksd demo`) shares its CPU time with the bench: not reported.
        let daemon = DaemonCPU.pid(socketPath: socketPath).flatMap { $0 == getpid() ? nil : $0 }
        let cpuBefore = daemon.flatMap(DaemonCPU.sample(pid:))
        let threadCount = max(1, min(threads, connections))
        let results = await withTaskGroup(of: Result<BenchReport, BenchError>.self) { group in
            var first = 0
            for thread in 0..<threadCount {
                let count = connections / threadCount + (thread < connections % threadCount ? 1 : 0)
                let driver = BenchDriver(
                    socketPath: socketPath, frames: frames, wire: wire, connections: count, firstConnection: first,
                    pipeline: pipeline, budget: budget, deadline: deadline, timeout: timeout)
                first += count
                group.addTask { await BenchSocket.onThread { driver.run() } }
            }
            var results: [Result<BenchReport, BenchError>] = []
            for await result in group { results.append(result) }
            return results
        }
        var merged = BenchReport()
        for result in results { merged.merge(try result.get()) }
        merged.elapsed = .nanoseconds(Int64(BenchSocket.now() - start))
        if let daemon, let cpuBefore, let cpuAfter = DaemonCPU.sample(pid: daemon) {
            merged.daemonCPU = cpuAfter - cpuBefore
        }
        return merged
    }

    /// Stores the value every Redis call reads: `SET jwksd-bench` to `bytes` bytes.
    static func prepareRedis(socketPath: String, bytes: Int) throws(BenchError) {
        let descriptor = try BenchSocket.connect(socketPath)
        defer { close(descriptor) }
        let value = [UInt8](repeating: UInt8(ascii: "k"), count: bytes)
        let command = Array("*3\r\n$3\r\nSET\r\n$11\r\njwksd-bench\r\n$\(bytes)\r\n".utf8) + value + Array("\r\n".utf8)
        try BenchSocket.writeAll(descriptor, command)
        var reply = [UInt8](repeating: 0, count: 5)
        try BenchSocket.readExactly(descriptor, into: &reply, count: 5)
        guard reply == Array("+OK\r\n".utf8) else { throw BenchError("Redis did not accept SET jwksd-bench") }
    }
}
