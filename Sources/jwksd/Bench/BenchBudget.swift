import Synchronization

/// A shared count of calls still allowed (`nil` total: unlimited).
final class BenchBudget: Sendable {
    private let limited: Bool
    private let remaining: Atomic<Int>

    init(total: Int?) {
        limited = total != nil
        remaining = Atomic(total ?? 0)
    }

    /// Takes one call from the budget; `false` when it is used up.
    func take() -> Bool {
        !limited || remaining.subtract(1, ordering: .relaxed).newValue >= 0
    }
}
