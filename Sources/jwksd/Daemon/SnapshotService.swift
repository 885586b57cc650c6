import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Writes providers' snapshots as ``SnapshotSchedule`` says (new keys at once, renewals coalesced once a
/// minute and at shutdown) and deletes removed providers' snapshots.
struct SnapshotService: Service {
    let engine: JWKSEngine
    let store: SnapshotStore
    /// Where the writes run (the daemon's background threads).
    let executor: (any TaskExecutor)?
    let logger: Logger
    /// The longest a freshness renewal waits to be written.
    var renewalInterval: Duration = .seconds(60)

    func run() async throws {
        let events = engine.events()
        await withTaskExecutorPreference(executor) {
            await write(events)
        }
    }

    private func write(_ events: AsyncStream<EngineEvent>) async {
        let interval = renewalInterval
        let unwritten = await cancelWhenGracefulShutdown { () -> [ProviderKey] in
            var schedule = SnapshotSchedule(interval: interval, start: .now)
            var events = events
            while true {
                for await event in events {
                    switch schedule.event(event.kind, key: event.key) {
                    case .write: write(event.key)
                    case .remove: store.remove(event.key)
                    case .deferred, .none: break
                    }
                    for key in schedule.due(now: .now) { write(key) }
                }
                guard !Task.isCancelled else { break }
                // The stream ends early only when this writer fell a buffer's worth of events behind: follow
                // again, and write every provider once so nothing missed stays unwritten.
                logger.warning("snapshot writer fell behind the engine's events; writing every provider's snapshot")
                events = engine.events()
                for entry in engine.allEntries { write(entry.key) }
            }
            return schedule.due(now: .now, force: true)
        }
        for key in unwritten { write(key) }
    }

    private func write(_ key: ProviderKey) {
        guard let entry = engine.entry(tenant: key.tenant, provider: key.provider), let record = entry.snapshot.record
        else { return }
        do {
            try store.write(record, key: key, source: entry.source.summary)
        } catch {
            logger.warning("snapshot not written", metadata: ["provider": "\(key)", "error": "\(error)"])
        }
    }
}
