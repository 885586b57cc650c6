/// The kid-miss rule of one provider, as a pure value: at most one refetch per `kid_miss_cooldown`, and
/// kids confirmed absent are remembered for the cooldown.
struct KidMissState<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// What to do about a lookup for a kid the published set does not have.
    enum Decision: Equatable {
        /// Answer NOT_FOUND now.
        case notFound
        /// A fetch is in flight: wait for it, then look again.
        case join
        /// Start a refetch, wait for it, then look again.
        case refetch
    }

    /// The most absent kids remembered, and the most bytes of kids; past either the memory is cleared (an
    /// attacker's random kids must not grow memory without bound). Forgetting costs little: within a cooldown
    /// a forgotten kid is still answered NOT_FOUND by the one-refetch-per-cooldown rule.
    static var maximumRemembered: Int { 1_000 }
    static var maximumRememberedBytes: Int { 65_536 }

    private(set) var lastRefetch: Instant?
    private(set) var absent: [String: Instant] = [:]
    /// UTF-8 bytes of the kids in ``absent``.
    private(set) var absentBytes = 0

    /// Decides what a miss for `kid` does.
    /// - Parameters:
    ///   - kid: the kid not found.
    ///   - now: the current instant.
    ///   - cooldown: the provider's `kid_miss_cooldown`.
    ///   - fetchInFlight: whether any fetch (scheduled, admin, kid miss) is running.
    mutating func miss(kid: String, now: Instant, cooldown: Duration, fetchInFlight: Bool) -> Decision {
        if let until = absent[kid] {
            if now < until { return .notFound }
            absent[kid] = nil
            absentBytes -= kid.utf8.count
        }
        if fetchInFlight { return .join }
        if let last = lastRefetch, now < last.advanced(by: cooldown) {
            remember(kid, until: last.advanced(by: cooldown))
            return .notFound
        }
        lastRefetch = now
        return .refetch
    }

    /// Records that `kid` was still absent after a fetch.
    mutating func confirmAbsent(kid: String, now: Instant, cooldown: Duration) {
        remember(kid, until: now.advanced(by: cooldown))
    }

    private mutating func remember(_ kid: String, until: Instant) {
        let size = kid.utf8.count
        guard size <= Self.maximumRememberedBytes else { return }
        if absent[kid] == nil {
            if absent.count >= Self.maximumRemembered || absentBytes + size > Self.maximumRememberedBytes {
                absent.removeAll()
                absentBytes = 0
            }
            absentBytes += size
        }
        absent[kid] = until
    }
}
