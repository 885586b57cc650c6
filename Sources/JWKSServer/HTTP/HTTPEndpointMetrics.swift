public import CoreMetrics
import NIOHTTP1

/// The HTTP endpoint's counters, through swift-metrics (the daemon exports them as Prometheus text):
///
/// - `jwksd_http_requests_total{status}`: requests answered, by HTTP status code (`200`, `304`, `400`, `404`,
///   `405`, `503`); `400` includes requests NIO's parser refused (malformed, or headers past
///   `max_header_bytes`);
/// - `jwksd_http_kid_waits_total`: `?kid=` requests that waited for the kid-miss rule (a refetch, or one in
///   flight), and those answered at once because `max_connections` waits were running;
/// - `jwksd_http_connections_refused_total`: connections closed on arrival because `max_connections` were open.
///
/// Every series is created up front, so each has a value from the first scrape.
public struct HTTPEndpointMetrics: Sendable {
    /// The statuses the endpoint answers, in label order.
    static let statuses: [HTTPResponseStatus] = [
        .ok, .notModified, .badRequest, .notFound, .methodNotAllowed, .serviceUnavailable,
    ]
    private let requests: [Counter]
    private let kidWaits: Counter
    private let kidWaitsRefused: Counter
    private let refusedConnections: Counter

    /// Creates the counters with a factory (the daemon passes its Prometheus factory; the default records nothing).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        requests = Self.statuses.map {
            Counter(label: "jwksd_http_requests_total", dimensions: [("status", "\($0.code)")], factory: factory)
        }
        kidWaits = Counter(
            label: "jwksd_http_kid_waits_total", dimensions: [("outcome", "waited")], factory: factory)
        kidWaitsRefused = Counter(
            label: "jwksd_http_kid_waits_total", dimensions: [("outcome", "over_limit")], factory: factory)
        refusedConnections = Counter(label: "jwksd_http_connections_refused_total", dimensions: [], factory: factory)
    }

    /// Counts an answered request (a status outside ``statuses`` is not counted; the endpoint sends none).
    func answered(_ status: HTTPResponseStatus) {
        if let index = Self.statuses.firstIndex(of: status) { requests[index].increment() }
    }

    /// Counts a `?kid=` request that waited for the kid-miss rule (`ran`), or was answered at once because the
    /// waits were all taken.
    func kidWait(ran: Bool) {
        (ran ? kidWaits : kidWaitsRefused).increment()
    }

    /// Counts a connection closed on arrival (over `max_connections`).
    func refusedConnection() { refusedConnections.increment() }
}
