public import JWKSConfig

/// Retry delays after failed fetches: exponential from `initial_backoff`, capped at `max_backoff`, randomised.
public enum Backoff {
    /// The delay before the next attempt.
    ///
    /// The cap after `n` failures is `min(max_backoff, initial_backoff · 2^(n−1))`. With `full` jitter the
    /// delay is uniform in `[initial_backoff, cap]`; `equal` takes `[max(initial_backoff, cap/2), cap]`;
    /// `none` is the cap. The floor of `initial_backoff` keeps a failing provider from being hammered.
    /// - Parameters:
    ///   - failures: consecutive failures so far (1 after the first).
    ///   - retry: the provider's retry policy.
    ///   - generator: randomness (seeded in tests).
    /// - Returns: how long to wait.
    public static func delay(
        afterFailures failures: Int, retry: RetryPolicy, using generator: inout some RandomNumberGenerator
    ) -> Duration {
        let initial = DurationText.milliseconds(of: retry.initialBackoff)
        let maximum = DurationText.milliseconds(of: retry.maxBackoff)
        let doublings = min(max(failures, 1) - 1, 40)
        let (scaled, overflow) = initial.multipliedReportingOverflow(by: Int64(1) << Int64(doublings))
        let cap = overflow ? maximum : min(maximum, scaled)
        let lower: Int64
        switch retry.jitter {
        case .none: return .milliseconds(cap)
        case .full: lower = min(initial, cap)
        case .equal: lower = min(max(initial, cap / 2), cap)
        }
        return .milliseconds(Int64.random(in: lower...cap, using: &generator))
    }

    /// When to refresh keys that were just fetched or revalidated.
    ///
    /// The lead before expiry is `refresh_early` plus a random jitter in `[0, prefetch_jitter]`, so providers
    /// do not all refresh at once. The lead never exceeds half the TTL, so a short TTL cannot cause a
    /// refetch loop.
    /// - Parameters:
    ///   - ttl: the freshness lifetime just applied.
    ///   - policy: the provider's policy.
    ///   - generator: randomness (seeded in tests).
    /// - Returns: the delay from now until the refresh.
    public static func refreshDelay(
        ttl: Duration, policy: ProviderPolicy, using generator: inout some RandomNumberGenerator
    ) -> Duration {
        let jitterRange = DurationText.milliseconds(of: policy.prefetchJitter)
        let jitter = jitterRange > 0 ? Int64.random(in: 0...jitterRange, using: &generator) : 0
        let lead = policy.refreshEarly + .milliseconds(jitter)
        return max(ttl - lead, ttl / 2)
    }
}
