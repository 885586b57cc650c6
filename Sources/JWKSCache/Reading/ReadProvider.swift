import Atomics

/// One provider on the read path: its key and an atomically swapped ``ReadSnapshot``.
public final class ReadProvider: Sendable {
    /// The provider.
    public let key: ProviderKey
    private let current: ManagedAtomic<ReadSnapshot>
    /// The index's generation, advanced after every new snapshot.
    private let generation: ReadGeneration

    init(key: ProviderKey, snapshot: ReadSnapshot, generation: ReadGeneration) {
        self.key = key
        self.current = ManagedAtomic(snapshot)
        self.generation = generation
    }

    /// The published snapshot: one atomic load.
    @inline(__always)
    public var snapshot: ReadSnapshot { current.load(ordering: .acquiring) }

    func publish(_ snapshot: ReadSnapshot) {
        current.store(snapshot, ordering: .releasing)
        generation.advance()
    }
}
