import Atomics

/// How many `?kid=` waits the HTTP endpoint runs at once, across its connections. A wait is counted from its
/// start until its lookup returns, whether or not its client is still there.
final class KidWaitBudget: Sendable {
    let limit: Int
    private let count = ManagedAtomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot; false when all are taken (then answer without waiting).
    func take() -> Bool {
        if count.wrappingIncrementThenLoad(ordering: .relaxed) <= limit { return true }
        count.wrappingDecrement(ordering: .relaxed)
        return false
    }

    /// Gives a slot back.
    func release() {
        count.wrappingDecrement(ordering: .relaxed)
    }

    /// Slots taken now.
    var running: Int { count.load(ordering: .relaxed) }
}
