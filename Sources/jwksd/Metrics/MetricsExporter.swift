import Atomics
import CoreMetrics
import JWKSCache
import JWKSServer
import Prometheus

/// Owns the Prometheus registry every metric of the daemon lands in, and renders it as Prometheus text
/// (exposition format 0.0.4). Per-provider gauges and the config generation are brought up to date at
/// render time, so a scrape sees exact values and nothing is spent between scrapes.
final class MetricsExporter: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let engineMetrics: EngineMetrics
    let serverMetrics: ServerMetrics
    let httpMetrics: HTTPEndpointMetrics
    private let reloads: [ReloadOutcome: CoreMetrics.Counter]
    private let generation: CoreMetrics.Gauge
    private let logLinesDropped: CoreMetrics.Counter
    private let logLinesCounted = ManagedAtomic<Int>(0)
    /// Where dropped log lines are counted (the daemon's log queue).
    private let logQueue: LogQueue?

    /// How a reload ended.
    enum ReloadOutcome: String, CaseIterable {
        /// A new registry was applied.
        case applied
        /// The file held the registry already in force.
        case unchanged
        /// The file was refused; the running registry stays.
        case failed
    }

    init(logQueue: LogQueue? = nil) {
        self.logQueue = logQueue
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["jwksd_fetch_duration_seconds"] = [
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30),
        ]
        self.factory = factory
        engineMetrics = EngineMetrics(factory: factory)
        serverMetrics = ServerMetrics(factory: factory)
        httpMetrics = HTTPEndpointMetrics(factory: factory)
        reloads = Dictionary(
            uniqueKeysWithValues: ReloadOutcome.allCases.map {
                (
                    $0,
                    CoreMetrics.Counter(
                        label: "jwksd_reloads_total", dimensions: [("outcome", $0.rawValue)], factory: factory)
                )
            })
        generation = CoreMetrics.Gauge(label: "jwksd_config_generation", dimensions: [], factory: factory)
        logLinesDropped = CoreMetrics.Counter(label: "jwksd_log_lines_dropped_total", dimensions: [], factory: factory)
    }

    /// Counts a reload.
    func reloaded(_ outcome: ReloadOutcome) { reloads[outcome]?.increment() }

    /// The current metrics as Prometheus text, each family with its `# HELP` line (``MetricsHelp``).
    /// - Parameter engine: the engine whose providers the per-provider gauges describe.
    func render(engine: JWKSEngine) -> [UInt8] {
        engineMetrics.observe(engine)
        generation.record(engine.generation)
        if let logQueue {
            let dropped = logQueue.dropped
            let counted = logLinesCounted.exchange(dropped, ordering: .relaxed)
            if dropped > counted { logLinesDropped.increment(by: dropped - counted) }
        }
        return MetricsHelp.annotate(registry.emitToBuffer())
    }
}
