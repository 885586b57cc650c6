/// How failed fetches are timed out and retried.
public struct RetryPolicy: Sendable, Equatable {
    /// How backoff delays are randomised.
    public enum Jitter: String, Sendable, Equatable, CaseIterable {
        /// Uniform between `initial_backoff` and the exponential cap.
        case full
        /// Uniform between half the cap and the cap (never below `initial_backoff`).
        case equal
        /// Exactly the exponential cap.
        case none
    }

    /// Time allowed to establish a connection.
    public var connectTimeout: Duration = .seconds(5)
    /// Time allowed for one whole attempt (connect, request, body).
    public var attemptTimeout: Duration = .seconds(5)
    /// The first retry delay.
    public var initialBackoff: Duration = .seconds(1)
    /// The largest retry delay.
    public var maxBackoff: Duration = .seconds(300)
    /// How delays are randomised.
    public var jitter: Jitter = .full

    /// The built-in policy.
    public init() {}
}
