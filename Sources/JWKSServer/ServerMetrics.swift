public import CoreMetrics
import JWKSWire

/// The server's request metrics, through swift-metrics (the daemon exports them as Prometheus text):
///
/// - `jwksd_requests_total{method,status}`: every dispatched call by method and final status (a deferred
///   lookup counts when it is answered);
/// - `jwksd_key_hits_total`: GetKey answered at once from a published snapshot;
/// - `jwksd_kid_misses_total`: GetKey whose kid the published snapshots did not have (the kid-miss rule
///   then decides whether to refetch);
/// - `jwksd_stale_serves_total`: GetKey and GetKeySet answers marked stale (the provider is failing and its
///   last good keys are being served).
///
/// Every counter is created up front, so recording is one atomic increment on the hit path.
public struct ServerMetrics: Sendable {
    /// Indexed by method raw value - 1, then status raw value (gaps in the status codes stay nil).
    private let requests: [[Counter?]]
    private let hits: Counter
    private let kidMisses: Counter
    private let staleServes: Counter

    /// Creates the counters with a factory (the daemon passes its Prometheus factory; the default records nothing).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        let slots = Int(StatusCode.allCases.map(\.rawValue).max() ?? 0) + 1
        requests = Method.allCases.map { method in
            (0..<slots).map { raw in
                StatusCode(rawValue: UInt8(raw)).map { status in
                    Counter(
                        label: "jwksd_requests_total",
                        dimensions: [("method", method.description), ("status", status.name)], factory: factory)
                }
            }
        }
        hits = Counter(label: "jwksd_key_hits_total", dimensions: [], factory: factory)
        kidMisses = Counter(label: "jwksd_kid_misses_total", dimensions: [], factory: factory)
        staleServes = Counter(label: "jwksd_stale_serves_total", dimensions: [], factory: factory)
    }

    /// Counts a GetKey answered from a published snapshot.
    func hit(stale: Bool) {
        hits.increment()
        if stale { staleServes.increment() }
    }

    /// Counts a GetKey whose kid the published snapshots lacked.
    func kidMiss() { kidMisses.increment() }

    /// Counts an answer marked stale.
    func staleServe() { staleServes.increment() }

    /// Counts one answered call.
    func answered(_ method: Method, _ status: StatusCode) {
        requests[Int(method.rawValue) - 1][Int(status.rawValue)]?.increment()
    }
}
