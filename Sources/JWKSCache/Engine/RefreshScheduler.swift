import NIOConcurrencyHelpers

/// One timer loop for every provider: sleeps on the injected clock until the earliest deadline, then hands
/// each due provider to `onDue`. Refreshes happen without any lookup traffic.
public final class RefreshScheduler: Sendable {
    private struct Shared {
        var state = State()
        var wake: CheckedContinuation<Void, Never>?
        var pendingWake = false
    }

    private let clock: any EngineClock
    private let shared = NIOLockedValueBox(Shared())
    private let onDue: @Sendable (ProviderKey) -> Void

    /// Creates a scheduler.
    /// - Parameters:
    ///   - clock: the clock to sleep on.
    ///   - onDue: called (on the scheduler's task) for each provider whose deadline has come.
    public init(clock: any EngineClock, onDue: @escaping @Sendable (ProviderKey) -> Void) {
        self.clock = clock
        self.onDue = onDue
    }

    /// Sets a provider's next deadline, replacing any earlier one.
    public func schedule(_ key: ProviderKey, at instant: EngineInstant) {
        let wake = shared.withLockedValue { shared -> CheckedContinuation<Void, Never>? in
            guard shared.state.schedule(key, at: instant) else { return nil }
            return Self.takeWake(&shared)
        }
        wake?.resume()
    }

    /// Removes a provider's deadline.
    public func cancel(_ key: ProviderKey) {
        shared.withLockedValue { $0.state.cancel(key) }
    }

    /// The provider's pending deadline, if any.
    public func deadline(of key: ProviderKey) -> EngineInstant? {
        shared.withLockedValue { $0.state.deadlines[key] }
    }

    /// Runs the timer loop until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            let now = clock.now
            let (due, next) = shared.withLockedValue { shared in
                let due = shared.state.popDue(now: now)
                return (due, shared.state.nextDeadline)
            }
            for key in due { onDue(key) }
            if !due.isEmpty { continue }
            await sleep(until: next)
        }
    }

    private func sleep(until deadline: EngineInstant?) async {
        let clock = self.clock
        await withTaskGroup(of: Void.self) { group in
            if let deadline {
                group.addTask { try? await clock.sleep(until: deadline) }
            }
            group.addTask { await self.waitForWake() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForWake() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = shared.withLockedValue { shared -> Bool in
                    if shared.pendingWake || Task.isCancelled {
                        shared.pendingWake = false
                        return true
                    }
                    shared.wake = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let wake = shared.withLockedValue { shared -> CheckedContinuation<Void, Never>? in
                let wake = shared.wake
                shared.wake = nil
                return wake
            }
            wake?.resume()
        }
    }

    private static func takeWake(_ shared: inout Shared) -> CheckedContinuation<Void, Never>? {
        if let wake = shared.wake {
            shared.wake = nil
            return wake
        }
        shared.pendingWake = true
        return nil
    }
}
