public import JWKSConfig

/// Reads every configured provider's snapshot at start and removes snapshot files of providers that are
/// no longer configured.
public struct SnapshotRestorer: Sendable {
    /// The store.
    public let store: SnapshotStore

    /// Creates a restorer.
    public init(store: SnapshotStore) {
        self.store = store
    }

    /// The records to start with, and the snapshots that were ignored (with why).
    /// - Parameters:
    ///   - config: the configuration being started.
    ///   - clock: the engine's clock.
    ///   - wallNow: the wall-clock Unix time.
    public func restore(config: JWKSDConfig, clock: any EngineClock, wallNow: Int64) -> (
        records: [ProviderKey: KeySetRecord<EngineInstant>], ignored: [SnapshotStore.Rejection]
    ) {
        var records: [ProviderKey: KeySetRecord<EngineInstant>] = [:]
        var ignored: [SnapshotStore.Rejection] = []
        var wanted = Set<String>()
        for tenant in config.tenants {
            for provider in tenant.providers {
                let key = ProviderKey(tenant: tenant.id, provider: provider.id)
                wanted.insert(store.path(for: key))
                do throws(SnapshotStore.Rejection) {
                    guard let entry = try store.read(key) else { continue }
                    records[key] = try store.record(
                        from: entry, provider: provider, clock: clock, wallNow: wallNow,
                        sourceSummary: provider.source.summary(resolve: config.resolve))
                } catch {
                    ignored.append(error)
                }
            }
        }
        store.removeFiles(except: wanted)
        return (records, ignored)
    }
}
