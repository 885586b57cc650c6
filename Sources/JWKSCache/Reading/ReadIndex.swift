import Atomics
public import JWKSConfig

/// The engine's registry as the hot read path sees it: tenants → providers → ``ReadSnapshot``, immutable per
/// registry generation and swapped atomically with it. Nothing here is generic, so a GetKey hit is dictionary
/// reads, two atomic loads and an integer comparison.
public final class ReadIndex: Sendable {
    /// One tenant: its configuration and providers, in config order and by id.
    public final class Tenant: Sendable {
        /// The tenant's configuration (access lists).
        public let config: TenantConfig
        /// Its providers in config order.
        public let providers: [ReadProvider]
        private let byID: [String: ReadProvider]

        init(config: TenantConfig, providers: [ReadProvider]) {
            self.config = config
            self.providers = providers
            self.byID = Dictionary(providers.map { ($0.key.provider, $0) }, uniquingKeysWith: { first, _ in first })
        }

        /// One provider by id.
        public func provider(_ id: String) -> ReadProvider? { byID[id] }
    }

    final class Tenants: Sendable, AtomicReference {
        let byID: [String: Tenant]
        init(_ byID: [String: Tenant]) { self.byID = byID }
    }

    private let tenants = ManagedAtomic(Tenants([:]))
    private let now: @Sendable () -> Int64

    /// Advances after every registry swap and every provider's new snapshot.
    public let generation = ReadGeneration()

    init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    /// A tenant by id.
    @inline(__always)
    public func tenant(_ id: String) -> Tenant? { tenants.load(ordering: .acquiring).byID[id] }

    /// The engine clock's current instant as ticks (nanoseconds since the engine's epoch).
    public func nowTicks() -> Int64 { now() }

    func publish(_ byID: [String: Tenant]) {
        tenants.store(Tenants(byID), ordering: .releasing)
        generation.advance()
    }
}
