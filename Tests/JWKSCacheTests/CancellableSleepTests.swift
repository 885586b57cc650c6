import Testing

@testable import JWKSCache

/// The production clock's sleep: it ends at its deadline, and a cancelled one ends at once, whether it was
/// cancelled before or after its timer was set.
@Suite("Cancellable sleep")
struct CancellableSleepTests {
    @Test("sleeps its duration; cancelled before or during, it throws CancellationError at once")
    func sleepsAndCancels() async throws {
        let start = ContinuousClock.now
        try await CancellableSleep.sleep(for: .milliseconds(20))
        #expect(ContinuousClock.now - start >= .milliseconds(20))

        let early = Task { try await CancellableSleep.sleep(for: .seconds(3_600)) }
        early.cancel()
        await #expect(throws: CancellationError.self) { try await early.value }

        let started = ContinuousClock.now
        let during = Task { try await CancellableSleep.sleep(for: .seconds(3_600)) }
        try await Task.sleep(for: .milliseconds(10))
        during.cancel()
        await #expect(throws: CancellationError.self) { try await during.value }
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test("a deadline already passed returns at once; SystemClock sleeps until its instants")
    func systemClock() async throws {
        let clock = SystemClock()
        try await CancellableSleep.sleep(for: .zero)
        try await CancellableSleep.sleep(for: .milliseconds(-5))
        let deadline = clock.now.advanced(by: .milliseconds(15))
        try await clock.sleep(until: deadline)
        #expect(clock.now >= deadline)
    }
}
