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

    /// How many absent kids, and how many bytes of them, one provider remembers; past either the memory is
    /// cleared (an attacker's random kids must not grow memory without bound). Forgetting costs little: within
    /// a cooldown a forgotten kid is still answered NOT_FOUND by the one-refetch-per-cooldown rule.
    struct Limits: Sendable, Equatable {
        /// Kids remembered.
        var count: Int
        /// UTF-8 bytes of the kids remembered.
        var bytes: Int

        /// The most one provider remembers.
        static var perProvider: Limits { Limits(count: 1_000, bytes: 65_536) }
        /// The most all providers of a registry remember together.
        static var total: Limits { Limits(count: 100_000, bytes: 8 * 1_048_576) }

        /// One provider's share when a registry has `providers` providers: the total divided among them, never
        /// more than ``perProvider`` and never under 16 kids / 1 KiB (10,000 providers: 16 kids each).
        static func share(of providers: Int) -> Limits {
            let count = max(1, providers)
            return Limits(
                count: min(perProvider.count, max(16, total.count / count)),
                bytes: min(perProvider.bytes, max(1_024, total.bytes / count)))
        }
    }

    /// This provider's limits.
    let limits: Limits

    /// A provider's kid-miss state.
    /// - Parameter limits: how much absent-kid memory it may hold.
    init(limits: Limits = .perProvider) {
        self.limits = limits
    }

    private(set) var lastRefetch: Instant?
    private(set) var absent: [String: Instant] = [:]
    /// UTF-8 bytes of the kids in ``absent``.
    private(set) var absentBytes = 0

    /// Decides what a miss for `kid` does, and records it.
    /// - Parameters:
    ///   - kid: the kid not found.
    ///   - now: the current instant.
    ///   - cooldown: the provider's `kid_miss_cooldown`.
    ///   - fetchInFlight: whether any fetch (scheduled, admin, kid miss) is running.
    mutating func miss(kid: String, now: Instant, cooldown: Duration, fetchInFlight: Bool) -> Decision {
        if let until = absent[kid], now >= until {
            absent[kid] = nil
            absentBytes -= kid.utf8.count
        }
        let decision = decide(kid: kid, now: now, cooldown: cooldown, fetchInFlight: fetchInFlight)
        switch decision {
        case .notFound:
            if absent[kid] == nil, let last = lastRefetch { remember(kid, until: last.advanced(by: cooldown)) }
        case .refetch:
            lastRefetch = now
        case .join:
            break
        }
        return decision
    }

    /// What ``miss(kid:now:cooldown:fetchInFlight:)`` would decide, without recording anything: lets a caller
    /// answer NOT_FOUND at once when no fetch would run or be waited for.
    func decide(kid: String, now: Instant, cooldown: Duration, fetchInFlight: Bool) -> Decision {
        if let until = absent[kid], now < until { return .notFound }
        if fetchInFlight { return .join }
        if let last = lastRefetch, now < last.advanced(by: cooldown) { return .notFound }
        return .refetch
    }

    /// Records that `kid` was still absent after a fetch.
    mutating func confirmAbsent(kid: String, now: Instant, cooldown: Duration) {
        remember(kid, until: now.advanced(by: cooldown))
    }

    private mutating func remember(_ kid: String, until: Instant) {
        let size = kid.utf8.count
        guard size <= limits.bytes else { return }
        if absent[kid] == nil {
            if absent.count >= limits.count || absentBytes + size > limits.bytes {
                absent.removeAll()
                absentBytes = 0
            }
            absentBytes += size
        }
        absent[kid] = until
    }
}
