import JWKSWire

/// Counts gathered on one connection's event loop and added to the shared ``ServerMetrics`` counters once
/// per read batch (``ServerMetrics/record(_:)``): a call costs plain integer increments instead of atomic
/// increments of counters that every event loop shares.
struct MetricsTally {
    /// Calls by `ServerMetrics.slot(method, status)`.
    private(set) var requests: [Int]
    /// The slots counted since the last record, so recording does not scan every slot.
    private(set) var touched: [Int] = []
    var hits = 0
    var kidMisses = 0
    var staleServes = 0

    init() {
        requests = Array(repeating: 0, count: ServerMetrics.slotCount)
    }

    /// Whether nothing was counted since the last record.
    var isEmpty: Bool { touched.isEmpty && hits == 0 && kidMisses == 0 && staleServes == 0 }

    /// Counts one answered call.
    mutating func answered(_ method: Method, _ status: StatusCode) {
        let slot = ServerMetrics.slot(method, status)
        if requests[slot] == 0 { touched.append(slot) }
        requests[slot] += 1
    }

    /// Counts a GetKey answered from a published snapshot.
    mutating func hit(stale: Bool) {
        hits += 1
        if stale { staleServes += 1 }
    }

    /// Zeroes every count (after they were recorded).
    mutating func reset() {
        for slot in touched { requests[slot] = 0 }
        touched.removeAll(keepingCapacity: true)
        hits = 0
        kidMisses = 0
        staleServes = 0
    }
}
