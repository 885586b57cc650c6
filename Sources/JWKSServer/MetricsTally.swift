import JWKSWire

/// Counts gathered on one connection's event loop and added to the shared ``ServerMetrics`` counters once
/// per read batch (``ServerMetrics/record(_:)``): a call costs plain integer increments instead of atomic
/// increments of counters that every event loop shares. The first (method, status) pair of a batch is
/// counted inline, so the usual batch (all GetKey OK) allocates nothing; other pairs go to a dictionary.
struct MetricsTally {
    /// The first (method, status) slot counted since the last reset (-1: none), and its count.
    private(set) var firstSlot = -1
    private(set) var firstCount = 0
    /// Counts of the other slots.
    private(set) var otherSlots: [Int: Int] = [:]
    var hits = 0
    var kidMisses = 0
    var staleServes = 0
    var verifyCacheHits = 0

    /// Whether nothing was counted since the last reset.
    var isEmpty: Bool { firstSlot < 0 && hits == 0 && kidMisses == 0 && staleServes == 0 && verifyCacheHits == 0 }

    /// Counts one answered call.
    mutating func answered(_ method: Method, _ status: StatusCode) {
        let slot = ServerMetrics.slot(method, status)
        if slot == firstSlot {
            firstCount += 1
        } else if firstSlot < 0 {
            firstSlot = slot
            firstCount = 1
        } else {
            otherSlots[slot, default: 0] += 1
        }
    }

    /// Counts a GetKey answered from a published snapshot.
    mutating func hit(stale: Bool) {
        hits += 1
        if stale { staleServes += 1 }
    }

    /// Zeroes every count (after they were recorded).
    mutating func reset() {
        firstSlot = -1
        firstCount = 0
        if !otherSlots.isEmpty { otherSlots.removeAll(keepingCapacity: true) }
        hits = 0
        kidMisses = 0
        staleServes = 0
        verifyCacheHits = 0
    }
}
