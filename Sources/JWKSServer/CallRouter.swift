import JWKSWire
import NIOCore

/// What a connection needs from the request router. It is not generic, so the per-frame code of
/// ``ConnectionHandler`` runs without generic metadata lookups; ``RequestDispatcher`` is the implementation.
protocol CallRouter: AnyObject, Sendable {
    /// The counters behind the tallies.
    var metrics: ServerMetrics { get }

    /// Routes one decoded request: a reply now, deferred work, or a Watch stream. Calls answered now are
    /// counted in `tally`; GetKey hits are remembered in, and answered from, the connection's `replies`.
    func dispatch(
        _ method: Method, payload: ByteBuffer, peer: PeerCredentials?, tally: inout MetricsTally,
        replies: inout ReplyCache
    ) -> Answer
}
