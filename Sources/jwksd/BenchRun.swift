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

    /// The targets as complete REQUEST frames (call id 0; each send patches it).
    var frames: [[UInt8]] {
        targets.map { payload in
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
        let deadline =
            requests == nil
            ? start + UInt64(duration.components.seconds) * 1_000_000_000
                + UInt64(duration.components.attoseconds / 1_000_000_000) : UInt64.max
        let threadCount = max(1, min(threads, connections))
        let results = await withTaskGroup(of: Result<BenchReport, BenchError>.self) { group in
            var first = 0
            for thread in 0..<threadCount {
                let count = connections / threadCount + (thread < connections % threadCount ? 1 : 0)
                let driver = BenchDriver(
                    socketPath: socketPath, frames: frames, connections: count, firstConnection: first,
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
        return merged
    }
}

/// Latencies and outcomes of a run.
struct BenchReport: Sendable {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var statuses: [StatusCode: Int] = [:]
    var requests = 0
    var elapsed: Duration = .zero

    mutating func record(status: StatusCode, nanoseconds: UInt64) {
        _ = histogram.record(nanoseconds)
        statuses[status, default: 0] += 1
        requests += 1
    }

    mutating func merge(_ other: BenchReport) {
        histogram.add(other.histogram)
        for (status, count) in other.statuses { statuses[status, default: 0] += count }
        requests += other.requests
    }

    /// The run's length in seconds.
    var seconds: Double { Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 }

    var throughput: Double { seconds > 0 ? Double(requests) / seconds : 0 }

    func micros(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1_000 }

    var errors: [StatusCode: Int] { statuses.filter { $0.key != .ok } }

    /// What was measured.
    struct Header {
        var method: String
        var connections: Int
        var pipeline: Int
    }

    private func latencyLine(_ label: String) -> String {
        String(
            format: "%@ p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f", label, micros(50), micros(90), micros(99),
            micros(99.9), Double(histogram.max) / 1_000)
    }

    /// A readable report; with `floor`, its latencies and the ratios to it.
    func table(_ header: Header, floor: BenchReport? = nil) -> String {
        var lines = [
            "method \(header.method), \(header.connections) connection(s) x pipeline \(header.pipeline)",
            String(format: "requests %d in %.2fs: %.0f req/s", requests, seconds, throughput),
            latencyLine("latency us:"),
        ]
        let errorText = errors.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.name) \($0.value)" }
        lines.append("errors: " + (errorText.isEmpty ? "none" : errorText.joined(separator: ", ")))
        if let floor {
            lines.append(floor.latencyLine("floor us:  "))
            lines.append(
                String(
                    format: "ratio to floor: p50 %.2fx  p90 %.2fx  p99 %.2fx  p99.9 %.2fx",
                    micros(50) / floor.micros(50),
                    micros(90) / floor.micros(90), micros(99) / floor.micros(99), micros(99.9) / floor.micros(99.9)))
            lines.append("(floor: raw socketpair ping-pong between two threads, same sizes, one call at a time)")
        }
        return lines.joined(separator: "\n")
    }

    private var latencyJSON: String {
        String(
            format: #"{"p50":%.1f,"p90":%.1f,"p99":%.1f,"p99_9":%.1f,"max":%.1f}"#, micros(50), micros(90), micros(99),
            micros(99.9), Double(histogram.max) / 1_000)
    }

    /// The report as one JSON object; with `floor`, its latencies and the ratios to it.
    func json(_ header: Header, floor: BenchReport? = nil) -> String {
        let errorFields = errors.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\"\($0.key.name)\":\($0.value)" }
        var text = String(
            format: #"{"method":"%@","connections":%d,"pipeline":%d,"requests":%d,"seconds":%.3f,"throughput":%.1f,"#,
            header.method, header.connections, header.pipeline, requests, seconds, throughput)
        text += #""latency_us":"# + latencyJSON + #","errors":{"# + errorFields.joined(separator: ",") + "}"
        if let floor {
            text += #","floor_latency_us":"# + floor.latencyJSON
            text += String(
                format: #","floor_ratio":{"p50":%.3f,"p99":%.3f}"#, micros(50) / floor.micros(50),
                micros(99) / floor.micros(99))
        }
        return text + "}"
    }
}
