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
///   last good keys are being served);
/// - VerifyJWT's counters: ``VerificationMetrics``.
///
/// Every counter is created up front. Connections count into a ``MetricsTally`` and add it here once per
/// read batch; deferred calls count here directly.
public struct ServerMetrics: Sendable {
    /// Indexed by ``slot(_:_:)`` (gaps in the status codes stay nil).
    private let requests: [Counter?]
    private let hits: Counter
    private let kidMisses: Counter
    private let staleServes: Counter
    /// VerifyJWT's counters.
    public let verifications: VerificationMetrics

    /// Creates the counters with a factory (the daemon passes its Prometheus factory; the default records nothing).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        var requests = [Counter?](repeating: nil, count: Self.slotCount)
        for method in Method.allCases {
            for status in StatusCode.allCases {
                requests[Self.slot(method, status)] = Counter(
                    label: "jwksd_requests_total",
                    dimensions: [("method", method.description), ("status", status.name)], factory: factory)
            }
        }
        self.requests = requests
        hits = Counter(label: "jwksd_key_hits_total", dimensions: [], factory: factory)
        kidMisses = Counter(label: "jwksd_kid_misses_total", dimensions: [], factory: factory)
        staleServes = Counter(label: "jwksd_stale_serves_total", dimensions: [], factory: factory)
        verifications = VerificationMetrics(factory: factory)
    }

    /// Counts an answer marked stale.
    func staleServe() { staleServes.increment() }

    /// Counts one answered call.
    func answered(_ method: Method, _ status: StatusCode) {
        requests[Self.slot(method, status)]?.increment()
    }

    /// Adds a connection's tally to the counters and zeroes it.
    func record(_ tally: inout MetricsTally) {
        guard !tally.isEmpty else { return }
        if tally.firstSlot >= 0 { requests[tally.firstSlot]?.increment(by: Int64(tally.firstCount)) }
        for (slot, count) in tally.otherSlots { requests[slot]?.increment(by: Int64(count)) }
        if tally.hits > 0 { hits.increment(by: Int64(tally.hits)) }
        if tally.kidMisses > 0 { kidMisses.increment(by: Int64(tally.kidMisses)) }
        if tally.staleServes > 0 { staleServes.increment(by: Int64(tally.staleServes)) }
        if tally.verifyCacheHits > 0 { verifications.cacheHits.increment(by: Int64(tally.verifyCacheHits)) }
        tally.reset()
    }

    /// Status codes per method in the slot table.
    private static let statusSlots = Int(StatusCode.allCases.map(\.rawValue).max() ?? 0) + 1
    /// Slots in the (method, status) table.
    private static let slotCount = Method.allCases.count * statusSlots

    /// The (method, status) slot: method raw value - 1, then status raw value.
    static func slot(_ method: Method, _ status: StatusCode) -> Int {
        (Int(method.rawValue) - 1) * statusSlots + Int(status.rawValue)
    }
}
