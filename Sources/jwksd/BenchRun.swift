import Foundation
import Histogram
import JWKSClient
import JWKSWire
import NIOCore
import Synchronization

/// One measurement: connections × pipeline loops issuing calls back to back, each recording its latency.
struct BenchRun: Sendable {
    let socketPath: String
    let method: Method
    let targets: [ByteBuffer]
    let connections: Int
    let pipeline: Int
    let flags: FrameFlags
    let timeout: Duration

    /// Runs until `duration` passes or `requests` calls completed, and merges every loop's results.
    func measure(duration: Duration, requests: Int?) async -> BenchReport {
        let clients = (0..<connections).map { _ in JWKSClient(socketPath: socketPath) }
        let budget = BenchBudget(total: requests)
        let start = ContinuousClock.now
        let end = start + duration
        let report = await withTaskGroup(of: BenchReport.self) { group in
            for (connection, client) in clients.enumerated() {
                for lane in 0..<pipeline {
                    group.addTask {
                        var report = BenchReport()
                        var index = (connection * pipeline + lane) % max(targets.count, 1)
                        while budget.take(), requests != nil || ContinuousClock.now < end {
                            let payload = targets[index]
                            index = (index + 1) % targets.count
                            let sent = ContinuousClock.now
                            do throws(JWKSClientError) {
                                let frame = try await client.rawCall(
                                    method, payload: payload, flags: flags, timeout: timeout)
                                report.record(status: frame.status, latency: ContinuousClock.now - sent)
                            } catch {
                                report.record(status: error.code, latency: ContinuousClock.now - sent)
                            }
                        }
                        return report
                    }
                }
            }
            var merged = BenchReport()
            for await part in group { merged.merge(part) }
            return merged
        }
        for client in clients { await client.close() }
        var result = report
        result.elapsed = ContinuousClock.now - start
        return result
    }
}

/// A shared count of calls still allowed (`nil`: unlimited).
final class BenchBudget: Sendable {
    private let remaining: ManagedCounter?

    init(total: Int?) {
        remaining = total.map { ManagedCounter($0) }
    }

    /// Takes one call from the budget; `false` when it is used up.
    func take() -> Bool {
        guard let remaining else { return true }
        return remaining.decrement() >= 0
    }
}

/// A counter behind a lock.
final class ManagedCounter: Sendable {
    private let value: Mutex<Int>
    init(_ value: Int) { self.value = Mutex(value) }
    func decrement() -> Int {
        value.withLock {
            $0 -= 1; return $0
        }
    }
}

/// Latencies and outcomes of a run.
struct BenchReport: Sendable {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var statuses: [StatusCode: Int] = [:]
    var requests = 0
    var elapsed: Duration = .zero

    mutating func record(status: StatusCode, latency: Duration) {
        let (seconds, attoseconds) = latency.components
        _ = histogram.record(UInt64(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)))
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

    func table(method: String, connections: Int, pipeline: Int) -> String {
        var lines = [
            "method \(method), \(connections) connection(s) x pipeline \(pipeline)",
            String(
                format: "requests %d in %.2fs: %.0f req/s", requests,
                seconds, throughput),
            String(
                format: "latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f", micros(50), micros(90),
                micros(99),
                micros(99.9), Double(histogram.max) / 1_000),
        ]
        let errorText = errors.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.name) \($0.value)" }
        lines.append("errors: " + (errorText.isEmpty ? "none" : errorText.joined(separator: ", ")))
        return lines.joined(separator: "\n")
    }

    func json(method: String, connections: Int, pipeline: Int) -> String {
        let errorFields = errors.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\"\($0.key.name)\":\($0.value)" }
        return String(
            format: """
                {"method":"%@","connections":%d,"pipeline":%d,"requests":%d,"seconds":%.3f,"throughput":%.1f,\
                "latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,"p99_9":%.1f,"max":%.1f},"errors":{%@}}
                """, method, connections, pipeline, requests,
            seconds, throughput, micros(50),
            micros(90), micros(99), micros(99.9), Double(histogram.max) / 1_000, errorFields.joined(separator: ","))
    }
}
