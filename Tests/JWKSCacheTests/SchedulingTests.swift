import DevIssuer
import JWKSTestSupport
import NIOConcurrencyHelpers
import Testing

@testable import JWKSCache

@Suite("Scheduler, kid-miss rule, fetch limiter, manual clock")
struct SchedulingTests {
    typealias State = RefreshScheduler.State
    let a = ProviderKey(tenant: "t", provider: "a")
    let b = ProviderKey(tenant: "t", provider: "b")
    let c = ProviderKey(tenant: "t", provider: "c")

    func at(_ seconds: Int64) -> ManualClock.Instant { ManualClock.Instant(offset: .seconds(seconds)) }

    @Test("deadlines pop in order; moving and cancelling a deadline is honoured")
    func schedulerState() {
        var state = State()
        let first = state.schedule(a, at: at(30))
        let earlier = state.schedule(b, at: at(10))
        let later = state.schedule(c, at: at(20))
        #expect(first && earlier && !later)
        let next = state.nextDeadline
        #expect(next == at(10))
        let moved = state.schedule(a, at: at(5))
        #expect(moved)
        state.cancel(c)
        let none = state.popDue(now: at(4))
        #expect(none == [])
        let due = state.popDue(now: at(25))
        #expect(due == [a, b])
        let after = state.nextDeadline
        #expect(after == nil)
        #expect(state.deadlines.isEmpty)
    }

    @Test("10,000 random deadlines come out sorted")
    func heapOrder() {
        var state = State()
        var generator = SeededGenerator(seed: 9)
        var expected: [(Int64, ProviderKey)] = []
        for index in 0..<10_000 {
            let key = ProviderKey(tenant: "t", provider: "p\(index)")
            let second = Int64.random(in: 0..<100_000, using: &generator)
            _ = state.schedule(key, at: at(second))
            expected.append((second, key))
        }
        let popped = state.popDue(now: at(100_000))
        #expect(popped.count == 10_000)
        let order = Dictionary(uniqueKeysWithValues: expected.map { ($0.1, $0.0) })
        #expect(zip(popped, popped.dropFirst()).allSatisfy { order[$0]! <= order[$1]! })
    }

    @Test("the timer loop fires due providers on the manual clock, without lookups")
    func schedulerLoop() async {
        let clock = ManualClock()
        let (stream, continuation) = AsyncStream.makeStream(of: ProviderKey.self)
        let scheduler = RefreshScheduler(clock: clock) { continuation.yield($0) }
        let loop = Task { await scheduler.run() }
        defer { loop.cancel() }
        scheduler.schedule(a, at: at(60))
        scheduler.schedule(b, at: at(30))
        var iterator = stream.makeAsyncIterator()
        clock.advance(by: .seconds(30))
        #expect(await iterator.next() == b)
        scheduler.schedule(c, at: at(45))
        clock.advance(by: .seconds(30))
        #expect(await iterator.next() == c)
        #expect(await iterator.next() == a)
    }

    @Test("kid-miss rule: one refetch per cooldown, joiners while in flight, absent kids remembered")
    func kidMiss() {
        var state = KidMissState<ManualClock.Instant>()
        let cooldown = Duration.seconds(30)
        #expect(state.miss(kid: "x", now: at(0), cooldown: cooldown, fetchInFlight: false) == .refetch)
        #expect(state.miss(kid: "y", now: at(0), cooldown: cooldown, fetchInFlight: true) == .join)
        state.confirmAbsent(kid: "x", now: at(1), cooldown: cooldown)
        #expect(state.miss(kid: "x", now: at(2), cooldown: cooldown, fetchInFlight: true) == .notFound)
        #expect(state.miss(kid: "z", now: at(5), cooldown: cooldown, fetchInFlight: false) == .notFound)
        #expect(state.miss(kid: "z", now: at(29), cooldown: cooldown, fetchInFlight: false) == .notFound)
        #expect(state.miss(kid: "new", now: at(30), cooldown: cooldown, fetchInFlight: false) == .refetch)
        #expect(state.miss(kid: "x", now: at(31), cooldown: cooldown, fetchInFlight: false) == .notFound)
        #expect(state.miss(kid: "x", now: at(60), cooldown: cooldown, fetchInFlight: false) == .refetch)
    }

    @Test("decide tells what a miss would decide without recording it, through random sequences of misses")
    func kidMissDecide() {
        var state = KidMissState<ManualClock.Instant>()
        let cooldown = Duration.seconds(30)
        #expect(state.decide(kid: "x", now: at(0), cooldown: cooldown, fetchInFlight: false) == .refetch)
        #expect(state.lastRefetch == nil)
        #expect(state.miss(kid: "x", now: at(0), cooldown: cooldown, fetchInFlight: false) == .refetch)
        #expect(state.decide(kid: "y", now: at(1), cooldown: cooldown, fetchInFlight: true) == .join)
        #expect(state.decide(kid: "y", now: at(1), cooldown: cooldown, fetchInFlight: false) == .notFound)
        #expect(state.absent["y"] == nil)
        state.confirmAbsent(kid: "x", now: at(2), cooldown: cooldown)
        #expect(state.decide(kid: "x", now: at(3), cooldown: cooldown, fetchInFlight: true) == .notFound)
        #expect(state.decide(kid: "x", now: at(32), cooldown: cooldown, fetchInFlight: false) == .refetch)

        var generator = SystemRandomNumberGenerator()
        var random = KidMissState<ManualClock.Instant>()
        var second: Int64 = 0
        for _ in 0..<10_000 {
            second += Int64.random(in: 0...4, using: &generator)
            let kid = "k\(Int.random(in: 0..<8, using: &generator))"
            let inFlight = Bool.random(using: &generator)
            let decided = random.decide(kid: kid, now: at(second), cooldown: cooldown, fetchInFlight: inFlight)
            #expect(random.miss(kid: kid, now: at(second), cooldown: cooldown, fetchInFlight: inFlight) == decided)
            if decided != .notFound, Bool.random(using: &generator) {
                random.confirmAbsent(kid: kid, now: at(second), cooldown: cooldown)
            }
        }
    }

    @Test("the absent-kid memory is bounded in entries and in bytes, whatever the kids a peer sends")
    func kidMissMemoryBound() {
        var state = KidMissState<ManualClock.Instant>()
        let cooldown = Duration.seconds(30)
        #expect(state.miss(kid: "first", now: at(0), cooldown: cooldown, fetchInFlight: false) == .refetch)
        for index in 0..<5_000 {
            let kid = String(repeating: "k", count: 200) + "\(index)"
            #expect(state.miss(kid: kid, now: at(1), cooldown: cooldown, fetchInFlight: false) == .notFound)
            #expect(state.absentBytes <= KidMissState<ManualClock.Instant>.Limits.perProvider.bytes)
            #expect(state.absent.count <= KidMissState<ManualClock.Instant>.Limits.perProvider.count)
        }
        #expect(state.absentBytes == state.absent.keys.reduce(0) { $0 + $1.utf8.count })
        // A kid too large to remember is never stored; the cooldown rule still answers it.
        let huge = String(repeating: "h", count: 70_000)
        #expect(state.miss(kid: huge, now: at(2), cooldown: cooldown, fetchInFlight: false) == .notFound)
        #expect(state.absent[huge] == nil)
    }

    @Test("a registry's providers share the absent-kid memory: at most 100,000 kids and 8 MiB in all")
    func kidMissShares() {
        typealias Limits = KidMissState<ManualClock.Instant>.Limits
        #expect(Limits.share(of: 1) == Limits.perProvider)
        #expect(Limits.share(of: 100) == Limits.perProvider)
        #expect(Limits.share(of: 200) == Limits(count: 500, bytes: 41_943))
        #expect(Limits.share(of: 10_000) == Limits(count: 16, bytes: 1_024))
        for providers in [1, 7, 200, 1_000, 10_000] {
            let share = Limits.share(of: providers)
            #expect(share.count * providers <= max(Limits.total.count, 16 * providers))
            #expect(share.bytes * providers <= max(Limits.total.bytes, 1_024 * providers))
        }
        var state = KidMissState<ManualClock.Instant>(limits: Limits.share(of: 10_000))
        _ = state.miss(kid: "first", now: at(0), cooldown: .seconds(30), fetchInFlight: false)
        for index in 0..<100 {
            _ = state.miss(kid: "kid-\(index)", now: at(1), cooldown: .seconds(30), fetchInFlight: false)
            #expect(state.absent.count <= 16)
        }
    }

    @Test("the fetch limiter never lets more than its limit run")
    func limiter() async {
        let limiter = FetchLimiter(limit: 3)
        let running = RunningCounter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await limiter.withPermit {
                        let now = running.add(1)
                        #expect(now <= 3)
                        await Task.yield()
                        _ = running.add(-1)
                    }
                }
            }
        }
        #expect(limiter.peakInFlight <= 3)
        #expect(limiter.peakInFlight >= 1)
    }

    @Test("the manual clock wakes sleepers when advanced, and cancellation ends a sleep")
    func manualClock() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(until: at(10), tolerance: nil) }
        while clock.sleeperCount == 0 { await Task.yield() }
        #expect(clock.nextDeadline == at(10))
        clock.advance(by: .seconds(9))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        try await sleeper.value
        let cancelled = Task { try await clock.sleep(until: at(100), tolerance: nil) }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(clock.sleeperCount == 0)
    }
}

/// A counter shared by concurrent tasks.
final class RunningCounter: Sendable {
    private let value = NIOLockedValueBox(0)

    func add(_ delta: Int) -> Int {
        value.withLockedValue { value in
            value += delta
            return value
        }
    }
}
