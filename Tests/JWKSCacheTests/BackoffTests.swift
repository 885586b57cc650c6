import JWKSConfig
import Testing

@testable import JWKSCache

@Suite("Backoff and refresh planning")
struct BackoffTests {
    @Test("full jitter stays in [initial_backoff, cap] and the cap doubles up to max_backoff")
    func fullJitterBounds() {
        var generator = SeededGenerator(seed: 1)
        let retry = RetryPolicy()
        for failures in 1...14 {
            let cap = min(Duration.seconds(1) * (1 << (failures - 1)), .seconds(300))
            var seenHigh = false
            for _ in 0..<200 {
                let delay = Backoff.delay(afterFailures: failures, retry: retry, using: &generator)
                #expect(delay >= .seconds(1) && delay <= cap, "failure \(failures): \(delay)")
                if delay > cap * 0.75 { seenHigh = true }
            }
            if failures > 2 { #expect(seenHigh, "jitter should cover the range at failure \(failures)") }
        }
    }

    @Test("no jitter gives exactly the exponential cap, capped at max_backoff")
    func noJitter() {
        var generator = SeededGenerator(seed: 2)
        var retry = RetryPolicy()
        retry.jitter = .none
        let delays = (1...12).map { Backoff.delay(afterFailures: $0, retry: retry, using: &generator) }
        #expect(Array(delays.prefix(9)) == [1, 2, 4, 8, 16, 32, 64, 128, 256].map { Duration.seconds($0) })
        #expect(delays.suffix(3).allSatisfy { $0 == .seconds(300) })
        #expect(Backoff.delay(afterFailures: 10_000, retry: retry, using: &generator) == .seconds(300))
    }

    @Test("equal jitter stays in the upper half")
    func equalJitter() {
        var generator = SeededGenerator(seed: 3)
        var retry = RetryPolicy()
        retry.jitter = .equal
        for _ in 0..<500 {
            let delay = Backoff.delay(afterFailures: 6, retry: retry, using: &generator)
            #expect(delay >= .seconds(16) && delay <= .seconds(32))
        }
    }

    @Test("refresh is refresh_early plus up to prefetch_jitter before expiry")
    func refreshDelayBounds() {
        var generator = SeededGenerator(seed: 4)
        let policy = ProviderPolicy()
        var seen = Set<Duration>()
        for _ in 0..<500 {
            let delay = Backoff.refreshDelay(ttl: .seconds(600), policy: policy, using: &generator)
            #expect(delay >= .seconds(565) && delay <= .seconds(570))
            seen.insert(delay)
        }
        #expect(seen.count > 50)
    }

    @Test("the lead never exceeds half a short TTL")
    func shortTTL() {
        var generator = SeededGenerator(seed: 5)
        let policy = ProviderPolicy()
        #expect(Backoff.refreshDelay(ttl: .seconds(30), policy: policy, using: &generator) == .seconds(15))
        var noJitter = policy
        noJitter.prefetchJitter = .zero
        #expect(Backoff.refreshDelay(ttl: .seconds(100), policy: noJitter, using: &generator) == .seconds(70))
    }
}
