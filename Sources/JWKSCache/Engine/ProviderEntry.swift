import Atomics
import JWKS
public import JWKSConfig
import NIOConcurrencyHelpers

/// The driver of one provider: feeds events to its ``ProviderStateMachine`` under a lock, performs the
/// returned actions after unlocking (fetch, publish, schedule), and answers lookups from an atomically
/// published ``ProviderSnapshot``. Fetches are single-flight: the first load, scheduled refreshes, admin
/// refreshes and kid-miss refetches share one.
///
/// A completed fetch is applied in three steps: the state machine's transition under the lock; the new
/// snapshot's replies prepared outside it (parsing and encoding a large set takes a fraction of a millisecond);
/// then the snapshot stored and the waiting lookups woken. Fetches are single-flight, so completions are never
/// concurrent and publications stay in order.
public final class ProviderEntry: Sendable {
    public typealias Instant = EngineInstant

    private struct DriverState {
        var machine: ProviderStateMachine<Instant>
        var generator: any RandomNumberGenerator & Sendable
        var kidMiss: KidMissState<Instant>
        /// Fetches whose outcome is published; a lookup waits for this to move past the value it saw.
        var completedFetches: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var cancelledWaiters: Set<UInt64> = []
        var nextWaiterID: UInt64 = 0
    }

    /// The provider.
    public let key: ProviderKey
    /// Its configuration.
    public let config: ProviderConfig
    /// Where its keys come from.
    public let source: any KeySource
    private let clock: any EngineClock
    private let limiter: FetchLimiter
    private let scheduler: RefreshScheduler
    private let emit: @Sendable (EngineEvent) -> Void
    private let prepare: SnapshotPreparer?
    private let state: NIOLockedValueBox<DriverState>
    private let current: ManagedAtomic<ProviderSnapshot>
    /// Snapshots published since creation, bumped after each store of `current`.
    private let publications = ManagedAtomic<UInt64>(0)
    /// Where fetches and their publication run (the global executor when nil).
    private let executor: (any TaskExecutor)?

    /// Creates a driver in `empty`; call ``start()`` to begin loading.
    /// - Parameters:
    ///   - key: the provider.
    ///   - config: its configuration.
    ///   - source: where its keys come from.
    ///   - clock: the engine's clock.
    ///   - limiter: the global cap on fetches in flight.
    ///   - scheduler: the shared timer loop.
    ///   - generator: randomness for jitter and backoff.
    ///   - prepare: builds the replies of each published set (the socket server's encoding).
    ///   - record: keys to start with (a reload that changed only the policy, or a warm restart); the
    ///     refresh is planned from them with this provider's policy.
    ///   - executor: where fetches and their publication run (the global executor when nil).
    ///   - registryProviders: how many providers the registry has: this provider's absent-kid memory is its share
    ///     of what the registry may hold (100,000 kids and 8 MiB across all providers, 1,000 and 64 KiB at most
    ///     each).
    ///   - emit: receives every event.
    public init(
        key: ProviderKey, config: ProviderConfig, source: any KeySource, clock: any EngineClock,
        limiter: FetchLimiter, scheduler: RefreshScheduler, generator: any RandomNumberGenerator & Sendable,
        prepare: SnapshotPreparer? = nil, restoring record: KeySetRecord<Instant>? = nil,
        executor: (any TaskExecutor)? = nil, registryProviders: Int = 1,
        emit: @escaping @Sendable (EngineEvent) -> Void
    ) {
        self.executor = executor
        self.key = key
        self.config = config
        self.source = source
        self.clock = clock
        self.limiter = limiter
        self.scheduler = scheduler
        self.emit = emit
        self.prepare = prepare
        let machine =
            record.map { ProviderStateMachine(policy: config.policy, restoring: $0, now: clock.now) }
            ?? ProviderStateMachine(policy: config.policy)
        self.state = NIOLockedValueBox(
            DriverState(
                machine: machine, generator: generator, kidMiss: KidMissState(limits: .share(of: registryProviders))))
        self.current = ManagedAtomic(
            ProviderSnapshot(
                key: key, record: record, lastError: nil, prepared: record.flatMap { record in prepare?(key, record) }))
    }

    // MARK: - Reading

    /// The published snapshot: one atomic load, no lock, no waiting.
    public var snapshot: ProviderSnapshot { current.load(ordering: .acquiring) }

    /// How many snapshots have been published. A reader that keeps something derived from a snapshot keeps
    /// this number with it (from ``publishedSnapshot()``): while ``publication`` still equals it, the snapshot is
    /// the one in force. Comparing it is one plain load, cheaper than loading the snapshot reference.
    public var publication: UInt64 { publications.load(ordering: .acquiring) }

    /// The published snapshot and its publication number. The number is read first, so a publication that lands
    /// between the two reads leaves an older number with the newer snapshot: a later comparison only fails
    /// sooner than it had to.
    public func publishedSnapshot() -> (snapshot: ProviderSnapshot, publication: UInt64) {
        let publication = self.publication
        return (snapshot, publication)
    }

    /// Looks a kid up, applying the kid-miss rule when the published set does not have it.
    /// - Parameters:
    ///   - kid: the key id.
    ///   - alg: an optional algorithm filter.
    ///   - deadline: the caller waits for a fetch no longer than this.
    /// - Returns: the keys, or why there are none.
    public func lookup(kid: String, alg: String?, deadline: Instant) async -> LookupOutcome {
        let snapshot = self.snapshot
        if let keys = snapshot.keys(kid: kid, alg: alg, at: clock.now), !keys.isEmpty {
            return .found(keys, snapshot)
        }
        let now = clock.now
        let (decision, generation, action) = state.withLockedValue {
            state -> (KidMissState<Instant>.Decision, UInt64, ProviderStateMachine<Instant>.Action) in
            let inFlight = state.machine.isFetching
            switch state.machine.availability(at: now) {
            case .unavailable(let why):
                let (decision, action) = Self.whileUnavailable(why, state: &state, now: now)
                return (decision, state.completedFetches, action)
            case .fresh, .stale:
                let decision = state.kidMiss.miss(
                    kid: kid, now: now, cooldown: config.policy.kidMissCooldown, fetchInFlight: inFlight)
                let action = decision == .refetch ? state.machine.refreshRequested(now: now) : .none
                return (decision, state.completedFetches, action)
            }
        }
        perform(action)
        if decision != .notFound {
            guard await waitForFetch(after: generation, deadline: deadline) else { return .failed(.deadlineExceeded) }
        }
        let after = self.snapshot
        guard let keys = after.keys(kid: kid, alg: alg, at: clock.now) else {
            return .failed(.unavailable(key, after.lastError))
        }
        if !keys.isEmpty { return .found(keys, after) }
        if decision != .notFound {
            state.withLockedValue {
                $0.kidMiss.confirmAbsent(kid: kid, now: clock.now, cooldown: config.policy.kidMissCooldown)
            }
        }
        return .failed(.kidNotFound(kid: kid))
    }

    /// Whether the kid-miss rule answers a lookup of `kid` NOT_FOUND without fetching or waiting: the kid is
    /// not in the published set, the provider has servable keys, and the kid was confirmed absent within the
    /// cooldown or a refetch was already made within it with none in flight. The miss is recorded as
    /// ``lookup(kid:alg:deadline:)`` records it, so a caller may answer at once instead of starting a task.
    /// - Parameters:
    ///   - kid: the key id.
    ///   - alg: an optional algorithm filter.
    /// - Returns: `false` when a lookup must run (it may find the kid, fetch, or wait for a fetch).
    public func answersAbsentNow(kid: String, alg: String?) -> Bool {
        let now = clock.now
        let cooldown = config.policy.kidMissCooldown
        let decided = state.withLockedValue { state -> Bool in
            switch state.machine.availability(at: now) {
            case .unavailable: return false
            case .fresh, .stale:
                let inFlight = state.machine.isFetching
                guard state.kidMiss.decide(kid: kid, now: now, cooldown: cooldown, fetchInFlight: inFlight) == .notFound
                else { return false }
                _ = state.kidMiss.miss(kid: kid, now: now, cooldown: cooldown, fetchInFlight: inFlight)
                return true
            }
        }
        // As in a lookup, the set published last decides: a kid published since the caller looked is found.
        guard decided, let keys = snapshot.keys(kid: kid, alg: alg, at: now) else { return false }
        return keys.isEmpty
    }

    /// The published snapshot once it has servable keys: at once when it has; else (never loaded, or past its
    /// stale limit) after the fetch in flight or one started now, waiting up to `deadline`. For callers that
    /// need the keys but name no kid (a kid-less token).
    /// - Parameter deadline: the caller waits for a fetch no longer than this.
    /// - Returns: a snapshot with servable keys, or why there is none.
    public func servableSnapshot(deadline: Instant) async -> Result<ProviderSnapshot, LookupFailure> {
        let now = clock.now
        let (decision, generation, action) = state.withLockedValue {
            state -> (KidMissState<Instant>.Decision?, UInt64, ProviderStateMachine<Instant>.Action) in
            guard case .unavailable(let why) = state.machine.availability(at: now) else {
                return (nil, state.completedFetches, .none)
            }
            let (decision, action) = Self.whileUnavailable(why, state: &state, now: now)
            return (decision, state.completedFetches, action)
        }
        perform(action)
        if let decision, decision != .notFound {
            guard await waitForFetch(after: generation, deadline: deadline) else { return .failure(.deadlineExceeded) }
        }
        let after = self.snapshot
        guard let standing = after.standing(at: clock.now), standing != .expired else {
            return .failure(.unavailable(key, after.lastError))
        }
        return .success(after)
    }

    /// What a caller does while the provider has no servable keys: answer now when no fetch can help (removed,
    /// or failed with none in flight), join the fetch in flight, or start one.
    private static func whileUnavailable(
        _ why: ProviderStateMachine<Instant>.Unavailable, state: inout DriverState, now: Instant
    ) -> (KidMissState<Instant>.Decision, ProviderStateMachine<Instant>.Action) {
        let inFlight = state.machine.isFetching
        switch why {
        case .removed: return (.notFound, .none)
        case .neverLoaded(let lastError) where lastError != nil && !inFlight: return (.notFound, .none)
        case .staleLimitPassed where !inFlight: return (.notFound, .none)
        default:
            if inFlight { return (.join, .none) }
            return (.refetch, state.machine.refreshRequested(now: now))
        }
    }

    /// The provider's status for operators.
    /// - Parameter wallNow: the wall-clock Unix time, to express instants as dates.
    public func status(wallNow: Int64) -> ProviderStatus {
        let now = clock.now
        return state.withLockedValue { state in
            let machine = state.machine
            let record = machine.record
            func wall(_ instant: Instant?) -> Int64? {
                instant.map { wallNow + now.duration(to: $0).components.seconds }
            }
            let standing: String
            switch record?.standing(at: now) {
            case .fresh: standing = "fresh"
            case .stale: standing = "stale"
            case .expired: standing = "expired"
            case nil: standing = "none"
            }
            return ProviderStatus(
                key: key, source: source.summary, state: machine.stateName, standing: standing,
                keyCount: record?.keySet.keys.count ?? 0, droppedCount: record?.keySet.dropped.count ?? 0,
                etag: record?.headers.etag, fetchedAt: record?.fetchedAtWall, validatedAt: record?.validatedAtWall,
                expiresAt: record?.expiresAtWall,
                staleUntil: record.map {
                    $0.expiresAtWall + $0.expiresAt.duration(to: $0.staleUntil).components.seconds
                },
                nextAttempt: wall(scheduler.deadline(of: key)), consecutiveFailures: machine.failures,
                lastError: machine.lastError)
        }
    }

    // MARK: - Driving

    /// Starts the first load (or, for restored keys, arms the refresh timer).
    public func start() {
        timerFired()
    }

    /// The scheduler's deadline for this provider has come.
    public func timerFired() {
        let now = clock.now
        perform(state.withLockedValue { $0.machine.timerFired(now: now) })
    }

    /// Refreshes now, joining a fetch already in flight, and waits for it up to `deadline`.
    /// - Returns: `true` when a fetch completed before the deadline.
    @discardableResult
    public func refresh(deadline: Instant) async -> Bool {
        let now = clock.now
        let (generation, action) = state.withLockedValue { state in
            (state.completedFetches, state.machine.refreshRequested(now: now))
        }
        perform(action)
        return await waitForFetch(after: generation, deadline: deadline)
    }

    /// Stops the provider: no more fetches or timers; lookups answer unavailable.
    /// - Parameter announce: emit a `.removed` event (false when a replacement takes over the same key).
    public func remove(announce: Bool = true) {
        let action = state.withLockedValue { $0.machine.removed() }
        guard action == .stop else { return }
        if announce {
            perform(action)
        } else {
            scheduler.cancel(key)
        }
    }

    private func perform(_ action: ProviderStateMachine<Instant>.Action, fetchDuration: Duration? = nil) {
        switch action {
        case .none:
            return
        case .fetch(let validators):
            emit(EngineEvent(key: key, kind: .fetchStarted))
            let source = self.source
            let limiter = self.limiter
            let clock = self.clock
            Task(executorPreference: executor) {
                let (result, duration) = await limiter.withPermit {
                    let start = clock.now
                    let result = await source.fetch(validators: validators)
                    return (result, start.duration(to: clock.now))
                }
                self.complete(result, duration: duration)
            }
        case .schedule(let instant):
            scheduler.schedule(key, at: instant)
        case .publish(let record, let kind, let next):
            scheduler.schedule(key, at: next)
            let eventKind: EngineEvent.Kind
            switch kind {
            case .document(let changed):
                eventKind = .published(
                    changed: changed, keys: record.keySet.keys.count, dropped: record.keySet.dropped.count)
            case .renewed:
                eventKind = .notModified
            }
            emit(EngineEvent(key: key, kind: eventKind, duration: fetchDuration))
        case .keepServing(let failure, let retryAt):
            scheduler.schedule(key, at: retryAt)
            emit(EngineEvent(key: key, kind: .failed(failure, keptKeys: true), duration: fetchDuration))
        case .unavailable(let failure, let retryAt):
            scheduler.schedule(key, at: retryAt)
            emit(EngineEvent(key: key, kind: .failed(failure, keptKeys: false), duration: fetchDuration))
        case .stop:
            scheduler.cancel(key)
            emit(EngineEvent(key: key, kind: .removed))
        }
    }

    /// Applies a fetch result: the state machine's transition under the lock, the new snapshot's replies
    /// prepared outside it, then the snapshot published and the lookups that waited for this fetch woken.
    private func complete(_ result: SourceResult, duration: Duration) {
        let now = clock.now
        let options = JWKValidationOptions(minimumRSABits: config.policy.minRSABits)
        // A new document is parsed and its keys checked before the lock is taken; a document that does not
        // parse is a failed fetch.
        let outcome: ParsedResult
        switch result {
        case .document(let body, let headers, let responseTime):
            do throws(JWKSError) {
                outcome = .keys(
                    try JWKSet(parsing: body, options: options), headers: headers, responseTime: responseTime)
            } catch {
                outcome = .failed(
                    FetchFailure(
                        code: error.code == .noUsableKeys ? .noUsableKeys : .invalidDocument,
                        message: "\(source.summary): \(error.message)"))
            }
        case .notModified(let headers, let responseTime):
            outcome = .notModified(headers: headers, responseTime: responseTime)
        case .failed(let failure):
            outcome = .failed(failure)
        }
        let (action, record, lastError) = state.withLockedValue { state in
            let action: ProviderStateMachine<Instant>.Action
            switch outcome {
            case .keys(let keySet, let headers, let responseTime):
                action = state.machine.fetchSucceeded(
                    keySet, headers: headers, now: now, responseTime: responseTime, using: &state.generator)
            case .notModified(let headers, let responseTime):
                action = state.machine.notModified(
                    headers: headers, now: now, responseTime: responseTime, using: &state.generator)
            case .failed(let failure):
                action = state.machine.fetchFailed(failure, now: now, using: &state.generator)
            }
            return (action, state.machine.record, state.machine.lastError)
        }
        publish(record: record, lastError: lastError)
        let waiters = state.withLockedValue { state in
            state.completedFetches += 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        perform(action, fetchDuration: duration)
        for waiter in waiters { waiter.resume() }
    }

    /// A fetch's result with a new document already parsed.
    private enum ParsedResult {
        case keys(JWKSet, headers: CacheHeaders, responseTime: Int64)
        case notModified(headers: CacheHeaders, responseTime: Int64)
        case failed(FetchFailure)
    }

    /// Builds and stores the snapshot for the machine's record and last error. The replies are prepared again
    /// only when the record changed (new keys or new freshness); a failure that leaves the keys as they were
    /// keeps the replies it had. Called only from ``complete(_:duration:)``, never concurrently.
    private func publish(record: KeySetRecord<Instant>?, lastError: FetchFailure?) {
        let previous = current.load(ordering: .relaxed)
        let prepared: PreparedKeySet?
        if let record, let prepare {
            prepared = previous.record == record ? previous.prepared : prepare(key, record)
        } else {
            prepared = nil
        }
        // Verification keys depend on the keys alone: a renewal (new freshness, same set) keeps them.
        let verificationKeys =
            previous.record?.keySet == record?.keySet
            ? previous.verificationKeys : ProviderSnapshot.verificationKeys(of: record)
        current.store(
            ProviderSnapshot(
                key: key, record: record, lastError: lastError, prepared: prepared, verificationKeys: verificationKeys),
            ordering: .releasing)
        publications.wrappingIncrement(ordering: .releasing)
    }

    /// Waits until a fetch completes after `generation`, or until `deadline`.
    /// - Returns: `true` when a fetch completed.
    private func waitForFetch(after generation: UInt64, deadline: Instant) async -> Bool {
        let clock = self.clock
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.fetchCompletion(after: generation) }
            group.addTask {
                try? await clock.sleep(until: deadline)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private func fetchCompletion(after generation: UInt64) async -> Bool {
        let id = state.withLockedValue { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.completedFetches != generation || state.cancelledWaiters.remove(id) != nil {
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    state.cancelledWaiters.insert(id)
                    return nil
                }
                return waiter
            }
            waiter?.resume()
        }
        return !Task.isCancelled
    }
}
