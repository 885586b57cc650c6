import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Writes each provider's snapshot after every publication and deletes removed providers' snapshots.
struct SnapshotService: Service {
    let engine: JWKSEngine<ContinuousClock>
    let store: SnapshotStore
    /// Where the writes run (the daemon's background threads).
    let executor: (any TaskExecutor)?
    let logger: Logger

    func run() async throws {
        let events = engine.events()
        await withTaskExecutorPreference(executor) {
            await write(events)
        }
    }

    private func write(_ events: AsyncStream<EngineEvent>) async {
        await cancelWhenGracefulShutdown {
            for await event in events {
                switch event.kind {
                case .published, .notModified:
                    guard let entry = engine.entry(tenant: event.key.tenant, provider: event.key.provider),
                        let record = entry.snapshot.record
                    else { continue }
                    do {
                        try store.write(record, key: event.key, source: entry.source.summary)
                    } catch {
                        logger.warning(
                            "snapshot not written", metadata: ["provider": "\(event.key)", "error": "\(error)"])
                    }
                case .removed:
                    store.remove(event.key)
                case .fetchStarted, .failed:
                    continue
                }
            }
        }
    }
}
