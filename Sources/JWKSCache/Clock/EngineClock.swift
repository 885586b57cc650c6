/// The clock the engine runs on, injected: freshness, timers, deadlines and backoff all read it, so tests
/// drive time by hand (a manual clock) instead of sleeping.
public protocol EngineClock: Sendable {
    /// The current instant.
    var now: EngineInstant { get }

    /// Suspends until `deadline` has come.
    /// - Throws: `CancellationError` when the task is cancelled first.
    func sleep(until deadline: EngineInstant) async throws
}

/// The production clock: Swift's `ContinuousClock` (monotonic, counting while the host sleeps), with its
/// origin at the moment this value was created. It sleeps on SwiftNIO's timers (``CancellableSleep``): a
/// cancelled sleep is gone at once, where the runtime's `Task.sleep` keeps its timer until the deadline.
public struct SystemClock: EngineClock {
    private let origin: ContinuousClock.Instant

    /// A clock whose origin is now.
    public init() {
        origin = ContinuousClock.now
    }

    public var now: EngineInstant { EngineInstant(offset: origin.duration(to: .now)) }

    public func sleep(until deadline: EngineInstant) async throws {
        try await CancellableSleep.sleep(for: now.duration(to: deadline))
    }
}
