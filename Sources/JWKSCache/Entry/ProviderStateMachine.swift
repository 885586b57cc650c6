public import JWKS
public import JWKSConfig

/// The life of one provider's keys as a pure state machine: every event takes `now` and returns what the
/// driver must do. No clock reads, no I/O, no awaiting; one driver per provider applies events under a lock
/// and performs the returned action after unlocking.
///
/// States: `empty` (no keys, no fetch in flight), `loading` (no keys, fetch in flight), `ready` (keys, no fetch
/// in flight), `refreshing` (keys, fetch in flight), `removed`. Whether `ready` keys are fresh or stale is a
/// comparison of `now` with the instants in their ``KeySetRecord``.
public struct ProviderStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// The state and the data each state carries.
    public enum State: Sendable, Equatable {
        /// No keys and no fetch in flight; retry at `Empty.nextAttempt` if set.
        case empty(Empty)
        /// No keys; the first load (or a retry of it) is in flight.
        case loading(Empty)
        /// Keys are published; the next refresh or retry is at `Ready.nextAttempt`.
        case ready(Ready)
        /// Keys are published and a refresh is in flight.
        case refreshing(Ready)
        /// The provider left the registry; every later event is ignored.
        case removed
    }

    /// Data of the states without keys.
    public struct Empty: Sendable, Equatable {
        /// Consecutive failed attempts.
        public var failures = 0
        /// The last failure, if any.
        public var lastError: FetchFailure?
        /// When to try again; `nil` before the first attempt.
        public var nextAttempt: Instant?
        /// When the keys that were dropped had expired, if keys were ever loaded.
        public var droppedAt: Instant?
    }

    /// Data of the states with keys.
    public struct Ready: Sendable, Equatable {
        /// The published keys.
        public var record: KeySetRecord<Instant>
        /// Consecutive failed refreshes.
        public var failures = 0
        /// The last failure since the keys were last confirmed.
        public var lastError: FetchFailure?
        /// When the next refresh (or retry) is due.
        public var nextAttempt: Instant
    }

    /// What a publication carries.
    public enum Publication: Sendable, Equatable {
        /// A document was downloaded (HTTP 200, a changed file); `changed` when it differs from the last one.
        case document(changed: Bool)
        /// The keys were confirmed unchanged (HTTP 304, an unchanged file): only their freshness moved.
        case renewed
    }

    /// What the driver must do after an event.
    public enum Action: Sendable, Equatable {
        /// Nothing (for example, a fetch is already in flight and the caller joins it).
        case none
        /// Start a fetch; conditional with these validators when they are not empty.
        case fetch(Validators)
        /// Arm the provider's timer for this instant; nothing else changed.
        case schedule(Instant)
        /// Publish these keys and arm the timer; `kind` says whether a document arrived or freshness was renewed.
        case publish(KeySetRecord<Instant>, kind: Publication, next: Instant)
        /// The refresh failed; keep serving the current keys and retry at `retryAt`.
        case keepServing(FetchFailure, retryAt: Instant)
        /// There are no usable keys (never loaded, or dropped past the stale limit): publish the failure, retry at `retryAt`.
        case unavailable(FetchFailure, retryAt: Instant)
        /// The provider was removed: cancel its timer and fetch.
        case stop
    }

    /// The current state.
    public private(set) var state: State = .empty(Empty())
    /// The policy in force.
    public var policy: ProviderPolicy

    /// Creates a machine in `empty`.
    /// - Parameter policy: the provider's effective policy.
    public init(policy: ProviderPolicy) {
        self.policy = policy
    }

    /// Creates a machine already holding keys, as after a warm restart from a snapshot.
    /// - Parameters:
    ///   - policy: the provider's effective policy.
    ///   - record: the restored keys.
    ///   - now: the current instant; the refresh is due at once if the keys are no longer fresh.
    public init(policy: ProviderPolicy, restoring record: KeySetRecord<Instant>, now: Instant) {
        self.policy = policy
        self.state = .ready(
            Ready(
                record: record,
                nextAttempt: now < record.expiresAt ? record.expiresAt.advanced(by: .zero - policy.refreshEarly) : now))
    }

    // MARK: - Triggers

    /// Starts the first load, a scheduled refresh or a due retry when the timer fires.
    /// - Parameter now: the current instant.
    /// - Returns: `.fetch` when an attempt is due, `.schedule` when the timer fired early, `.none` when a
    ///   fetch is in flight or the provider is removed.
    public mutating func timerFired(now: Instant) -> Action {
        switch state {
        case .empty(var empty):
            if let next = empty.nextAttempt, now < next { return .schedule(next) }
            empty.nextAttempt = nil
            state = .loading(empty)
            return .fetch(Validators())
        case .ready(let ready):
            if now < ready.nextAttempt { return .schedule(ready.nextAttempt) }
            state = .refreshing(ready)
            return .fetch(ready.record.headers.validators)
        case .loading, .refreshing, .removed:
            return .none
        }
    }

    /// Asks for a fetch now, whatever the schedule (admin refresh, kid miss, first lookup).
    /// - Parameter now: the current instant.
    /// - Returns: `.fetch`, or `.none` when one is already in flight (the caller joins it).
    public mutating func refreshRequested(now: Instant) -> Action {
        switch state {
        case .empty(var empty):
            empty.nextAttempt = nil
            state = .loading(empty)
            return .fetch(Validators())
        case .ready(let ready):
            state = .refreshing(ready)
            return .fetch(ready.record.headers.validators)
        case .loading, .refreshing, .removed:
            return .none
        }
    }

    // MARK: - Fetch results

    /// A fetch returned a new key set (HTTP 200, or a changed file).
    /// - Parameters:
    ///   - keySet: the validated keys.
    ///   - headers: the response headers.
    ///   - now: the current instant.
    ///   - responseTime: the wall-clock Unix time of the response (for `Expires` without `Date`).
    ///   - generator: randomness for the prefetch jitter.
    /// - Returns: `.publish` with the new record and the next refresh instant.
    public mutating func fetchSucceeded(
        _ keySet: JWKSet, headers: CacheHeaders, now: Instant, responseTime: Int64,
        using generator: inout some RandomNumberGenerator
    ) -> Action {
        let previous: JWKSet?
        switch state {
        case .loading: previous = nil
        case .refreshing(let ready): previous = ready.record.keySet
        case .removed: return .none
        case .empty, .ready: preconditionFailure("fetchSucceeded without a fetch in flight")
        }
        let freshness = Freshness.compute(headers: headers, policy: policy, responseTime: responseTime)
        let record = makeRecord(
            keySet: keySet, headers: headers, freshness: freshness, fetchedAt: now, validatedAt: now,
            fetchedAtWall: responseTime, validatedAtWall: responseTime)
        let next = now.advanced(by: Backoff.refreshDelay(ttl: freshness.ttl, policy: policy, using: &generator))
        state = .ready(Ready(record: record, nextAttempt: next))
        return .publish(record, kind: .document(changed: previous?.document != keySet.document), next: next)
    }

    /// A conditional fetch was answered `304 Not Modified`: the keys are confirmed and their freshness renewed.
    /// - Parameters:
    ///   - headers: the 304's headers.
    ///   - now: the current instant.
    ///   - responseTime: the wall-clock Unix time of the response.
    ///   - generator: randomness for the prefetch jitter and, for a 304 without a cached set, the backoff.
    /// - Returns: `.publish` of kind `.renewed`; a 304 while loading (no cached set) is a failure.
    public mutating func notModified(
        headers: CacheHeaders, now: Instant, responseTime: Int64, using generator: inout some RandomNumberGenerator
    ) -> Action {
        switch state {
        case .refreshing(let ready):
            let merged = ready.record.headers.updated(by: headers)
            let freshness = Freshness.compute(headers: merged, policy: policy, responseTime: responseTime)
            let record = makeRecord(
                keySet: ready.record.keySet, headers: merged, freshness: freshness,
                fetchedAt: ready.record.fetchedAt, validatedAt: now, fetchedAtWall: ready.record.fetchedAtWall,
                validatedAtWall: responseTime)
            let next = now.advanced(by: Backoff.refreshDelay(ttl: freshness.ttl, policy: policy, using: &generator))
            state = .ready(Ready(record: record, nextAttempt: next))
            return .publish(record, kind: .renewed, next: next)
        case .loading:
            let failure = FetchFailure(
                code: .unexpectedNotModified,
                message: "the server answered 304 Not Modified to a request without validators; no keys to keep")
            return fetchFailed(failure, now: now, using: &generator)
        case .removed:
            return .none
        case .empty, .ready:
            preconditionFailure("notModified without a fetch in flight")
        }
    }

    /// A fetch failed. Fresh keys are never dropped; stale keys are served until the stale limit.
    /// - Parameters:
    ///   - failure: what went wrong.
    ///   - now: the current instant.
    ///   - generator: randomness for the backoff.
    /// - Returns: `.keepServing` while keys are servable, otherwise `.unavailable`; both carry the retry instant.
    public mutating func fetchFailed(
        _ failure: FetchFailure, now: Instant, using generator: inout some RandomNumberGenerator
    ) -> Action {
        switch state {
        case .loading(var empty):
            empty.failures += 1
            empty.lastError = failure
            let retryAt = now.advanced(by: retryDelay(failures: empty.failures, failure: failure, using: &generator))
            empty.nextAttempt = retryAt
            state = .empty(empty)
            return .unavailable(failure, retryAt: retryAt)
        case .refreshing(var ready):
            ready.failures += 1
            ready.lastError = failure
            let retryAt = now.advanced(by: retryDelay(failures: ready.failures, failure: failure, using: &generator))
            if ready.record.standing(at: now) == .expired {
                state = .empty(
                    Empty(
                        failures: ready.failures, lastError: failure, nextAttempt: retryAt,
                        droppedAt: ready.record.staleUntil))
                return .unavailable(failure, retryAt: retryAt)
            }
            ready.nextAttempt = retryAt
            state = .ready(ready)
            return .keepServing(failure, retryAt: retryAt)
        case .removed:
            return .none
        case .empty, .ready:
            preconditionFailure("fetchFailed without a fetch in flight")
        }
    }

    /// The provider left the registry.
    /// - Returns: `.stop`, once.
    public mutating func removed() -> Action {
        if case .removed = state { return .none }
        state = .removed
        return .stop
    }

    // MARK: - Reading

    /// The published keys, if any (fresh, stale or past the limit).
    public var record: KeySetRecord<Instant>? {
        switch state {
        case .ready(let ready), .refreshing(let ready): ready.record
        case .empty, .loading, .removed: nil
        }
    }

    /// What a lookup at `now` may use.
    /// - Parameter now: the current instant.
    /// - Returns: the keys with their standing, or why there are none.
    public func availability(at now: Instant) -> Availability {
        switch state {
        case .ready(let ready), .refreshing(let ready):
            switch ready.record.standing(at: now) {
            case .fresh: return .fresh(ready.record)
            case .stale: return .stale(ready.record, lastError: ready.lastError)
            case .expired:
                return .unavailable(.staleLimitPassed(staleUntil: ready.record.staleUntil, lastError: ready.lastError))
            }
        case .empty(let empty), .loading(let empty):
            if let droppedAt = empty.droppedAt {
                return .unavailable(.staleLimitPassed(staleUntil: droppedAt, lastError: empty.lastError))
            }
            return .unavailable(.neverLoaded(lastError: empty.lastError))
        case .removed:
            return .unavailable(.removed)
        }
    }

    /// What a lookup may use.
    public enum Availability: Sendable, Equatable {
        /// Fresh keys.
        case fresh(KeySetRecord<Instant>)
        /// Expired keys within the stale limit; the refresh failures that made them stale.
        case stale(KeySetRecord<Instant>, lastError: FetchFailure?)
        /// No usable keys, and why.
        case unavailable(Unavailable)
    }

    /// Why there are no usable keys.
    public enum Unavailable: Sendable, Equatable {
        /// The provider has never loaded keys; the last attempt's failure, if one finished.
        case neverLoaded(lastError: FetchFailure?)
        /// The keys expired and the stale limit passed at `staleUntil` while refreshes failed.
        case staleLimitPassed(staleUntil: Instant, lastError: FetchFailure?)
        /// The provider is no longer configured.
        case removed
    }

    // MARK: - Helpers

    private func makeRecord(
        keySet: JWKSet, headers: CacheHeaders, freshness: Freshness, fetchedAt: Instant, validatedAt: Instant,
        fetchedAtWall: Int64, validatedAtWall: Int64
    ) -> KeySetRecord<Instant> {
        let expiresAt = validatedAt.advanced(by: freshness.ttl)
        let staleWindow = max(policy.staleWhileError, freshness.staleIfError ?? .zero)
        return KeySetRecord(
            keySet: keySet, headers: headers, freshness: freshness, fetchedAt: fetchedAt, validatedAt: validatedAt,
            expiresAt: expiresAt, staleUntil: expiresAt.advanced(by: staleWindow), fetchedAtWall: fetchedAtWall,
            validatedAtWall: validatedAtWall)
    }

    private func retryDelay(failures: Int, failure: FetchFailure, using generator: inout some RandomNumberGenerator)
        -> Duration
    {
        let backoff = Backoff.delay(afterFailures: failures, retry: policy.retry, using: &generator)
        guard let retryAfter = failure.retryAfter else { return backoff }
        return min(max(backoff, retryAfter), policy.retry.maxBackoff)
    }
}
