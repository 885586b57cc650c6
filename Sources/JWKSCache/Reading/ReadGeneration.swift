import Atomics

/// A counter that advances after every change a reader of the ``ReadIndex`` could see: a registry swap or a
/// provider's new snapshot. A reader that remembers an answer with the generation it read before computing
/// it may reuse the answer while the generation is unchanged (and its own time bound holds). Loading it is a
/// plain atomic load; only publications write it.
public final class ReadGeneration: Sendable {
    private let value = ManagedAtomic<UInt64>(0)

    /// Creates a counter at 0.
    public init() {}

    /// The current generation.
    @inline(__always)
    public var current: UInt64 { value.load(ordering: .acquiring) }

    /// Marks a change, after it was published.
    func advance() {
        value.wrappingIncrement(ordering: .releasing)
    }
}
