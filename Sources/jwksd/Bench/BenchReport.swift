import Foundation
import Histogram
import JWKSWire

/// Latencies and outcomes of a run.
struct BenchReport: Sendable {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var statuses: [StatusCode: Int] = [:]
    var requests = 0
    var elapsed: Duration = .zero
    /// The CPU the daemon used during the run, when its /proc entry could be read.
    var daemonCPU: DaemonCPU?

    /// The daemon's CPU per call in microseconds (user + system), when known.
    var daemonMicrosPerCall: Double? {
        guard let daemonCPU, requests > 0 else { return nil }
        return (daemonCPU.user + daemonCPU.system) / Double(requests) * 1e6
    }

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

    /// The floors measured after the run (`--floor`).
    struct Floors {
        /// The socketpair ping-pong between two threads.
        var socketPair: BenchReport?
        /// The same ping-pong against a minimal SwiftNIO server.
        var eventLoop: BenchReport?
    }

    /// What was measured.
    struct Header {
        var method: String
        var connections: Int
        var pipeline: Int
        /// Bytes of one reply on the wire (header included), when known.
        var replyBytes: Int?
    }

    private func latencyLine(_ label: String) -> String {
        String(
            format: "%@ p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f", label, micros(50), micros(90), micros(99),
            micros(99.9), Double(histogram.max) / 1_000)
    }

    private func ratioLine(_ label: String, _ floor: BenchReport) -> String {
        String(
            format: "%@ p50 %.2fx  p90 %.2fx  p99 %.2fx  p99.9 %.2fx", label, micros(50) / floor.micros(50),
            micros(90) / floor.micros(90), micros(99) / floor.micros(99), micros(99.9) / floor.micros(99.9))
    }

    /// A readable report; with floors, their latencies and the ratios to them.
    func table(_ header: Header, floors: Floors = Floors()) -> String {
        var lines = [
            "method \(header.method), \(header.connections) connection(s) x pipeline \(header.pipeline)"
                + (header.replyBytes.map { ", replies of \($0) bytes" } ?? ""),
            String(format: "requests %d in %.2fs: %.0f req/s", requests, seconds, throughput),
            latencyLine("latency us:"),
        ]
        let errorText = errors.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.name) \($0.value)" }
        lines.append("errors: " + (errorText.isEmpty ? "none" : errorText.joined(separator: ", ")))
        if let perCall = daemonMicrosPerCall, let cpu = daemonCPU {
            lines.append(
                String(
                    format: "daemon CPU: %.2f us per call (%.2fs user, %.2fs system over the run)", perCall, cpu.user,
                    cpu.system))
        }
        if let floor = floors.socketPair {
            lines.append(floor.latencyLine("floor us:  "))
            lines.append(ratioLine("ratio to floor:", floor))
            lines.append("(floor: raw socketpair ping-pong between two threads, same sizes, one call at a time)")
        }
        if let floor = floors.eventLoop {
            lines.append(floor.latencyLine("event-loop floor us:"))
            lines.append(ratioLine("ratio to event-loop floor:", floor))
            lines.append("(event-loop floor: the same ping-pong against a minimal SwiftNIO server, no jwksd work)")
        }
        return lines.joined(separator: "\n")
    }

    private var latencyJSON: String {
        String(
            format: #"{"p50":%.1f,"p90":%.1f,"p99":%.1f,"p99_9":%.1f,"max":%.1f}"#, micros(50), micros(90), micros(99),
            micros(99.9), Double(histogram.max) / 1_000)
    }

    /// The report as one JSON object; with floors, their latencies and the ratios to them.
    func json(_ header: Header, floors: Floors = Floors()) -> String {
        let errorFields = errors.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\"\($0.key.name)\":\($0.value)" }
        var text = String(
            format: #"{"method":"%@","connections":%d,"pipeline":%d,"requests":%d,"seconds":%.3f,"throughput":%.1f,"#,
            header.method, header.connections, header.pipeline, requests, seconds, throughput)
        text += #""latency_us":"# + latencyJSON + #","errors":{"# + errorFields.joined(separator: ",") + "}"
        if let bytes = header.replyBytes { text += #","reply_bytes":\#(bytes)"# }
        if let perCall = daemonMicrosPerCall { text += String(format: #","daemon_cpu_us_per_call":%.3f"#, perCall) }
        for (name, floor) in [("floor", floors.socketPair), ("event_loop_floor", floors.eventLoop)] {
            guard let floor else { continue }
            text += #",""# + name + #"_latency_us":"# + floor.latencyJSON
            text += String(
                format: #","%@_ratio":{"p50":%.3f,"p99":%.3f}"#, name, micros(50) / floor.micros(50),
                micros(99) / floor.micros(99))
        }
        return text + "}"
    }
}
