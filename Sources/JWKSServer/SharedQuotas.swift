import Atomics
import NIOConcurrencyHelpers

/// Limits shared by every connection of one server, so that no single peer can take what all peers share:
/// connections, Watch streams and waiting calls per peer uid, and the bytes of partially received frames across
/// all connections. Admin uids are exempt from the per-uid quotas (an operator's `jwksd status` must get in during
/// an incident).
final class SharedQuotas: Sendable {
    private struct PeerCounts {
        var connections = 0
        var watches = 0
        var waiting = 0

        var isEmpty: Bool { connections == 0 && watches == 0 && waiting == 0 }
    }

    private let perUID = NIOLockedValueBox<[UInt32: PeerCounts]>([:])
    private let partialBytes = ManagedAtomic<Int>(0)
    /// Connections one uid may hold.
    let connectionsPerUID: Int
    /// Watch streams one uid may hold open.
    let watchesPerUID: Int
    /// Calls one uid may have waiting (deferred: a kid miss, a first load, a Refresh) across its connections,
    /// counted until each call's work ends, not until its connection closes.
    let waitingPerUID: Int
    /// Bytes of partial frames all connections may hold together.
    let maxPartialFrameBytes: Int
    /// Uids the per-uid quotas do not apply to.
    let exempt: Set<UInt32>

    /// Quotas from a server's settings.
    init(settings: ServerSettings) {
        self.connectionsPerUID = settings.maxConnectionsPerUID
        self.watchesPerUID = settings.maxWatchesPerUID
        self.waitingPerUID = settings.maxWaitingCallsPerUID
        self.maxPartialFrameBytes = settings.maxPartialFrameBytes
        self.exempt = settings.adminUIDs
    }

    /// Takes a connection slot for `uid`.
    /// - Returns: `false` when the uid already holds ``connectionsPerUID`` connections.
    func acquireConnection(uid: UInt32) -> Bool {
        acquire(uid: uid, limit: connectionsPerUID, \.connections)
    }

    /// Gives back a connection slot taken with ``acquireConnection(uid:)``.
    func releaseConnection(uid: UInt32) {
        release(uid: uid, \.connections)
    }

    /// Takes a Watch slot for `uid`.
    /// - Returns: `false` when the uid already holds ``watchesPerUID`` Watch streams.
    func acquireWatch(uid: UInt32) -> Bool {
        acquire(uid: uid, limit: watchesPerUID, \.watches)
    }

    /// Gives back a Watch slot taken with ``acquireWatch(uid:)``.
    func releaseWatch(uid: UInt32) {
        release(uid: uid, \.watches)
    }

    /// Takes a waiting-call slot for `uid`.
    /// - Returns: `false` when the uid already has ``waitingPerUID`` calls waiting.
    func acquireWaiting(uid: UInt32) -> Bool {
        acquire(uid: uid, limit: waitingPerUID, \.waiting)
    }

    /// Gives back a waiting-call slot taken with ``acquireWaiting(uid:)``, when the call's work has ended.
    func releaseWaiting(uid: UInt32) {
        release(uid: uid, \.waiting)
    }

    /// Changes the bytes a connection holds in partial frames by `delta`.
    /// - Returns: `false` (and nothing changed) when growing by `delta` would pass ``maxPartialFrameBytes``.
    func adjustPartialBytes(by delta: Int) -> Bool {
        guard delta > 0 else {
            partialBytes.wrappingIncrement(by: delta, ordering: .relaxed)
            return true
        }
        let total = partialBytes.wrappingIncrementThenLoad(by: delta, ordering: .relaxed)
        guard total <= maxPartialFrameBytes else {
            partialBytes.wrappingDecrement(by: delta, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Bytes of partial frames held now.
    var partialFrameBytes: Int { partialBytes.load(ordering: .relaxed) }

    /// Connections, Watch streams and waiting calls `uid` holds now.
    func held(by uid: UInt32) -> (connections: Int, watches: Int, waiting: Int) {
        perUID.withLockedValue { counts in counts[uid].map { ($0.connections, $0.watches, $0.waiting) } ?? (0, 0, 0) }
    }

    private func acquire(uid: UInt32, limit: Int, _ field: WritableKeyPath<PeerCounts, Int>) -> Bool {
        perUID.withLockedValue { counts in
            var entry = counts[uid] ?? PeerCounts()
            guard exempt.contains(uid) || entry[keyPath: field] < limit else { return false }
            entry[keyPath: field] += 1
            counts[uid] = entry
            return true
        }
    }

    private func release(uid: UInt32, _ field: WritableKeyPath<PeerCounts, Int>) {
        perUID.withLockedValue { counts in
            guard var entry = counts[uid] else { return }
            entry[keyPath: field] = max(0, entry[keyPath: field] - 1)
            counts[uid] = entry.isEmpty ? nil : entry
        }
    }
}
