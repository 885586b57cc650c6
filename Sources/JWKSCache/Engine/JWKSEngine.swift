import Atomics
public import JWKSConfig
import NIOConcurrencyHelpers

/// The cache engine: one ``ProviderEntry`` per configured provider in a ``Registry`` swapped atomically by
/// reloads, a shared ``RefreshScheduler``, a global ``FetchLimiter``, and lookups by (tenant, provider, kid).
/// What a lookup reads is one value: ``registry``, then the provider's ``ProviderEntry/snapshot``.
public final class JWKSEngine: Sendable {
    /// The engine's clock.
    public let clock: any EngineClock
    /// The timer loop.
    public let scheduler: RefreshScheduler
    /// The cap on fetches in flight.
    public let limiter: FetchLimiter
    /// Refresh counters, fetch durations and per-provider gauges.
    public let metrics: EngineMetrics
    private let current: ManagedAtomic<Registry>
    /// Registries published since creation, bumped after each store of `current`.
    private let publications = ManagedAtomic<UInt64>(0)
    private let hub = EventHub()
    private let fetcher: HTTPFetcher
    private let makeGenerator: @Sendable () -> any RandomNumberGenerator & Sendable
    private let prepare: SnapshotPreparer?
    /// Where refresh fetches and their publication run (the global executor when nil).
    private let refreshExecutor: (any TaskExecutor)?
    private let applying = NIOLockedValueBox(())

    /// Builds the engine for a configuration; nothing is fetched until ``start()``.
    /// - Parameters:
    ///   - config: the validated configuration.
    ///   - clock: the clock for freshness, timers and deadlines.
    ///   - transport: performs HTTP GETs (shared by every provider).
    ///   - userAgent: sent with every request.
    ///   - resolver: resolves hosts for the fetch address rule (the system's resolver by default).
    ///   - makeGenerator: randomness per provider (seeded in tests).
    ///   - prepare: builds each published snapshot's `PreparedKeySet` (the server's encoded replies), outside the
    ///     provider's lock; nil publishes snapshots without one.
    ///   - restored: keys from warm-restart snapshots, served at once and refreshed on schedule.
    ///   - metrics: where refresh outcomes are counted.
    ///   - refreshExecutor: where refresh fetches and their publication run (the daemon's lower-priority
    ///     background threads); the global executor when nil.
    public init(
        config: JWKSDConfig, clock: any EngineClock, transport: any HTTPTransport,
        userAgent: String = JWKSDVersion.userAgent, resolver: any HostResolver = SystemHostResolver(),
        makeGenerator: @escaping @Sendable () -> any RandomNumberGenerator & Sendable = {
            SystemRandomNumberGenerator()
        },
        prepare: SnapshotPreparer? = nil,
        restored: [ProviderKey: KeySetRecord<EngineInstant>] = [:],
        metrics: EngineMetrics = EngineMetrics(),
        refreshExecutor: (any TaskExecutor)? = nil
    ) {
        self.clock = clock
        self.refreshExecutor = refreshExecutor
        self.metrics = metrics
        self.limiter = FetchLimiter(limit: config.server.maxConcurrentFetches)
        self.fetcher = HTTPFetcher(transport: transport, userAgent: userAgent, resolver: resolver)
        self.makeGenerator = makeGenerator
        self.prepare = prepare
        let current = ManagedAtomic(Registry(config: JWKSDConfig(), generation: 0, tenants: [:]))
        self.current = current
        self.scheduler = RefreshScheduler(clock: clock) { key in
            current.load(ordering: .acquiring).entry(tenant: key.tenant, provider: key.provider)?.timerFired()
        }
        var tenants: [String: Registry.Tenant] = [:]
        for tenant in config.tenants {
            let entries = tenant.providers.map { provider in
                makeEntry(
                    tenant: tenant.id, provider: provider, config: config,
                    restoring: restored[ProviderKey(tenant: tenant.id, provider: provider.id)])
            }
            tenants[tenant.id] = Registry.Tenant(config: tenant, providers: entries)
        }
        current.store(Registry(config: config, generation: 1, tenants: tenants), ordering: .releasing)
    }

    private func makeEntry(
        tenant: String, provider: ProviderConfig, config: JWKSDConfig, restoring record: KeySetRecord<EngineInstant>?
    ) -> ProviderEntry {
        let factory = KeySourceFactory(fetcher: fetcher, resolvePath: { config.resolve($0) }, clock: clock)
        let hub = self.hub
        let metrics = self.metrics
        return ProviderEntry(
            key: ProviderKey(tenant: tenant, provider: provider.id), config: provider,
            source: factory.makeSource(for: provider), clock: clock, limiter: limiter, scheduler: scheduler,
            generator: makeGenerator(), prepare: prepare, restoring: record, executor: refreshExecutor,
            registryProviders: config.providerCount,
            emit: { event in
                metrics.record(event)
                hub.emit(event)
            })
    }

    /// What a reload changed.
    public struct ReloadSummary: Sendable, Equatable {
        /// The config generation now in force.
        public var generation: UInt64
        /// Providers that are new.
        public var added: Int
        /// Providers that are gone.
        public var removed: Int
        /// Providers whose source or policy changed.
        public var changed: Int
        /// Providers left exactly as they were (keys and schedule kept).
        public var unchanged: Int
    }

    /// Applies a new, already validated configuration: unchanged providers keep their keys and schedule;
    /// a provider whose policy changed keeps its keys and has its refresh re-planned with the new policy; a
    /// changed source starts anew; removed providers stop; added ones start loading. The registry is swapped
    /// in one atomic store, so no lookup sees a half-applied configuration. `server:` settings that need a
    /// restart (socket path, limits) are not applied live. Applying the configuration already in force
    /// changes nothing, not even the generation.
    /// - Parameter config: the new configuration.
    /// - Returns: what changed.
    @discardableResult
    public func apply(_ config: JWKSDConfig) -> ReloadSummary {
        applying.withLockedValue { _ in
            let old = current.load(ordering: .acquiring)
            if old.config == config {
                // Nothing changed (a watcher and an RPC reloading the same file): keep the generation.
                return ReloadSummary(
                    generation: old.generation, added: 0, removed: 0, changed: 0, unchanged: config.providerCount)
            }
            var summary = ReloadSummary(generation: old.generation + 1, added: 0, removed: 0, changed: 0, unchanged: 0)
            var tenants: [String: Registry.Tenant] = [:]
            var started: [ProviderEntry] = []
            var replaced: [ProviderEntry] = []
            var kept = Set<ProviderKey>()
            for tenant in config.tenants {
                var entries: [ProviderEntry] = []
                for provider in tenant.providers {
                    let entry: ProviderEntry
                    if let existing = old.entry(tenant: tenant.id, provider: provider.id) {
                        kept.insert(existing.key)
                        if existing.config == provider {
                            entry = existing
                            summary.unchanged += 1
                        } else {
                            let carried = existing.config.source == provider.source ? existing.snapshot.record : nil
                            entry = makeEntry(tenant: tenant.id, provider: provider, config: config, restoring: carried)
                            replaced.append(existing)
                            started.append(entry)
                            summary.changed += 1
                        }
                    } else {
                        entry = makeEntry(tenant: tenant.id, provider: provider, config: config, restoring: nil)
                        started.append(entry)
                        summary.added += 1
                    }
                    entries.append(entry)
                }
                tenants[tenant.id] = Registry.Tenant(config: tenant, providers: entries)
            }
            let removed = old.allEntries.filter { !kept.contains($0.key) }
            summary.removed = removed.count
            current.store(
                Registry(config: config, generation: summary.generation, tenants: tenants), ordering: .releasing)
            publications.wrappingIncrement(ordering: .releasing)
            for entry in replaced { entry.remove(announce: false) }
            for entry in removed { entry.remove() }
            for entry in started { entry.start() }
            hub.announceRegistryChange(generation: summary.generation)
            return summary
        }
    }

    /// The registry in force: one atomic load. Everything a reader needs is in it (or in a provider's snapshot).
    public var registry: Registry { current.load(ordering: .acquiring) }

    /// How many registries have been published (every applied reload publishes one). A reader that keeps
    /// something derived from the registry reads this number first, then ``registry``; while ``publication``
    /// still equals it, that registry is the one in force. One plain load, cheaper than loading the registry.
    public var publication: UInt64 { publications.load(ordering: .acquiring) }

    /// The config generation in force: 1 at start, one more per applied reload.
    public var generation: UInt64 { registry.generation }

    /// The configuration in force.
    public var config: JWKSDConfig { registry.config }

    /// Starts every provider's first load (through the fetch limiter).
    public func start() {
        for entry in allEntries { entry.start() }
    }

    /// Runs the refresh timer loop until the task is cancelled.
    public func run() async {
        await scheduler.run()
    }

    /// Every provider, tenants and providers in config order.
    public var allEntries: [ProviderEntry] { registry.allEntries }

    /// One provider's driver.
    public func entry(tenant: String, provider: String) -> ProviderEntry? {
        registry.entry(tenant: tenant, provider: provider)
    }

    /// Looks up keys by kid in one provider, or (with `provider` nil) in the tenant's providers in config order.
    /// - Parameters:
    ///   - tenant: the tenant id.
    ///   - provider: the provider id, or `nil` to search the tenant.
    ///   - kid: the key id.
    ///   - alg: an optional algorithm filter.
    ///   - deadline: how long the caller may wait for a fetch.
    /// - Returns: the keys, or why there are none.
    public func lookup(tenant: String, provider: String?, kid: String, alg: String?, deadline: EngineInstant) async
        -> LookupOutcome
    {
        guard let entries = registry.tenant(tenant) else {
            return .failed(.unknownProvider(tenant: tenant, provider: provider))
        }
        if let provider {
            guard let entry = entries.provider(provider) else {
                return .failed(.unknownProvider(tenant: tenant, provider: provider))
            }
            return await entry.lookup(kid: kid, alg: alg, deadline: deadline)
        }
        let now = clock.now
        for entry in entries.providers {
            let snapshot = entry.snapshot
            if let keys = snapshot.keys(kid: kid, alg: alg, at: now), !keys.isEmpty { return .found(keys, snapshot) }
        }
        let outcomes = await withTaskGroup(of: (Int, LookupOutcome).self) { group in
            for (index, entry) in entries.providers.enumerated() {
                group.addTask { (index, await entry.lookup(kid: kid, alg: alg, deadline: deadline)) }
            }
            var outcomes: [(Int, LookupOutcome)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return Self.combine(outcomes, kid: kid)
    }

    /// The tenant-wide answer: the first provider (config order) that found the kid; otherwise a deadline,
    /// then "not found" if any provider could answer, else the first provider's failure.
    static func combine(_ outcomes: [LookupOutcome], kid: String) -> LookupOutcome {
        var failures: [LookupFailure] = []
        for outcome in outcomes {
            switch outcome {
            case .found: return outcome
            case .failed(let failure): failures.append(failure)
            }
        }
        if failures.contains(where: { if case .deadlineExceeded = $0 { true } else { false } }) {
            return .failed(.deadlineExceeded)
        }
        if failures.contains(where: { if case .kidNotFound = $0 { true } else { false } }) {
            return .failed(.kidNotFound(kid: kid))
        }
        return .failed(failures.first ?? .kidNotFound(kid: kid))
    }

    /// Refreshes one provider or all of a tenant's now, waiting up to `deadline`.
    /// - Returns: `nil` for an unknown tenant or provider, else whether every fetch completed in time.
    public func refresh(tenant: String, provider: String?, deadline: EngineInstant) async -> Bool? {
        guard let entries = registry.tenant(tenant) else { return nil }
        let targets: [ProviderEntry]
        if let provider {
            guard let entry = entries.provider(provider) else { return nil }
            targets = [entry]
        } else {
            targets = entries.providers
        }
        return await withTaskGroup(of: Bool.self) { group in
            for entry in targets { group.addTask { await entry.refresh(deadline: deadline) } }
            var all = true
            for await completed in group { all = all && completed }
            return all
        }
    }

    /// Every provider's status, in config order.
    /// - Parameter wallNow: the wall-clock Unix time.
    public func status(wallNow: Int64) -> [ProviderStatus] {
        allEntries.map { $0.status(wallNow: wallNow) }
    }

    /// A new stream of every provider event from now on. It ends when the consumer stops iterating, or once
    /// the consumer has fallen `bufferLimit` events behind (the events already buffered are delivered first):
    /// a consumer that stops reading cannot make the engine hold memory without bound.
    /// - Parameter bufferLimit: the most events held for this consumer.
    public func events(bufferLimit: Int = 65_536) -> AsyncStream<EngineEvent> {
        hub.subscribe(limit: bufferLimit)
    }

    /// A new stream of provider events and registry changes (reloads) from now on, bounded like ``events(bufferLimit:)``.
    /// - Parameter bufferLimit: the most notices held for this consumer.
    public func notices(bufferLimit: Int) -> AsyncStream<EngineNotice> {
        hub.subscribeNotices(limit: bufferLimit)
    }

    /// Event and notice subscribers currently attached.
    public var subscriberCount: Int { hub.subscriberCount }
}
