extension RefreshScheduler {
    /// The scheduler's bookkeeping as a pure value: one deadline per provider, and a min-heap to find the
    /// earliest. Rescheduling leaves stale heap entries behind; they are skipped when popped.
    struct State: Sendable {
        private(set) var deadlines: [ProviderKey: EngineInstant] = [:]
        private var heap: [(instant: EngineInstant, key: ProviderKey)] = []

        /// Sets (or moves) a provider's deadline.
        /// - Returns: `true` when this is now the earliest deadline (the loop must wake to re-plan).
        mutating func schedule(_ key: ProviderKey, at instant: EngineInstant) -> Bool {
            let earliest = nextDeadline
            deadlines[key] = instant
            push((instant, key))
            return earliest.map { instant < $0 } ?? true
        }

        /// Forgets a provider.
        mutating func cancel(_ key: ProviderKey) {
            deadlines[key] = nil
        }

        /// The earliest live deadline.
        var nextDeadline: EngineInstant? {
            mutating get {
                dropStale()
                return heap.first?.instant
            }
        }

        /// Removes and returns the providers due at `now`, earliest first.
        mutating func popDue(now: EngineInstant) -> [ProviderKey] {
            var due: [ProviderKey] = []
            while true {
                dropStale()
                guard let top = heap.first, top.instant <= now else { return due }
                popTop()
                deadlines[top.key] = nil
                due.append(top.key)
            }
        }

        private mutating func dropStale() {
            while let top = heap.first, deadlines[top.key] != top.instant { popTop() }
        }

        private mutating func push(_ element: (instant: EngineInstant, key: ProviderKey)) {
            heap.append(element)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].instant < heap[parent].instant else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }

        private mutating func popTop() {
            heap.swapAt(0, heap.count - 1)
            heap.removeLast()
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count, heap[left].instant < heap[smallest].instant { smallest = left }
                if right < heap.count, heap[right].instant < heap[smallest].instant { smallest = right }
                guard smallest != parent else { return }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }
}
