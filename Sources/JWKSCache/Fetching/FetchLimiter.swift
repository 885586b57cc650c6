import NIOConcurrencyHelpers

/// A global cap on fetches in flight (`server.max_concurrent_fetches`), first come first served, so 10,000
/// providers starting together do not open 10,000 connections.
public final class FetchLimiter: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
        var inFlight = 0
        var peak = 0
    }

    private let state: NIOLockedValueBox<State>

    /// Creates a limiter.
    /// - Parameter limit: the most fetches in flight at once (at least 1).
    public init(limit: Int) {
        state = NIOLockedValueBox(State(available: max(1, limit)))
    }

    /// Runs `body` holding one of the permits, waiting for one if all are taken.
    /// - Parameter body: the fetch.
    /// - Returns: what `body` returns.
    public func withPermit<T: Sendable>(_ body: () async -> T) async -> T {
        await acquire()
        defer { release() }
        return await body()
    }

    /// The most fetches that were ever in flight at once.
    public var peakInFlight: Int { state.withLockedValue { $0.peak } }

    private func acquire() async {
        let acquired = state.withLockedValue { state -> Bool in
            guard state.available > 0 else { return false }
            state.available -= 1
            state.inFlight += 1
            state.peak = max(state.peak, state.inFlight)
            return true
        }
        if acquired { return }
        await withCheckedContinuation { continuation in
            let immediately = state.withLockedValue { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    state.inFlight += 1
                    state.peak = max(state.peak, state.inFlight)
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if immediately { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.head < state.waiters.count {
                let waiter = state.waiters[state.head]
                state.head += 1
                if state.head > 64, state.head * 2 > state.waiters.count {
                    state.waiters.removeFirst(state.head)
                    state.head = 0
                }
                return waiter
            }
            state.available += 1
            state.inFlight -= 1
            return nil
        }
        next?.resume()
    }
}
