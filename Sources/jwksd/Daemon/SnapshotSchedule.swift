import JWKSCache

/// When a provider's snapshot file is written. New keys are written at once: they are what a warm restart
/// must not lose. A publication that only renewed freshness (a 304, or a 200 with the same keys) is coalesced:
/// the pending renewals are written together with the first event at least `interval` after the last such
/// write, and when the daemon stops. In a refresh storm that is one batch a minute instead of an fsync per 304. A snapshot that missed a renewal is older, which
/// is conservative: after a crash its keys look expired sooner and are refreshed at once.
struct SnapshotSchedule {
    /// What to do with the provider an event is about.
    enum Action: Equatable {
        /// Write its snapshot now.
        case write
        /// Its snapshot is written at the next flush.
        case deferred
        /// Delete its snapshot.
        case remove
        /// Nothing.
        case none
    }

    /// The longest a renewal waits to be written.
    let interval: Duration
    /// Providers whose renewals are not written yet.
    private(set) var pending: Set<ProviderKey> = []
    private var nextFlush: ContinuousClock.Instant

    /// Creates a schedule whose first flush is due `interval` after `start`.
    init(interval: Duration, start: ContinuousClock.Instant) {
        self.interval = interval
        self.nextFlush = start.advanced(by: interval)
    }

    /// The action for one event.
    mutating func event(_ kind: EngineEvent.Kind, key: ProviderKey) -> Action {
        switch kind {
        case .published(changed: true, _, _):
            pending.remove(key)
            return .write
        case .published, .notModified:
            pending.insert(key)
            return .deferred
        case .removed:
            pending.remove(key)
            return .remove
        case .fetchStarted, .failed:
            return .none
        }
    }

    /// The providers to write now: every pending one once the interval has passed (or with `force`, at
    /// shutdown), else none.
    mutating func due(now: ContinuousClock.Instant, force: Bool = false) -> [ProviderKey] {
        guard force || now >= nextFlush, !pending.isEmpty else { return [] }
        nextFlush = now.advanced(by: interval)
        defer { pending.removeAll() }
        return pending.sorted { $0.description < $1.description }
    }
}
