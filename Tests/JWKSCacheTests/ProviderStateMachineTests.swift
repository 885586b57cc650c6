import JWKS
import JWKSConfig
import Testing

@testable import JWKSCache

typealias Machine = ProviderStateMachine<TestInstant>

@Suite("Provider entry state machine")
struct ProviderStateMachineTests {
    var generator = SeededGenerator(seed: 42)
    let policy: ProviderPolicy = {
        var policy = ProviderPolicy()
        policy.prefetchJitter = .zero
        policy.retry.jitter = .none
        return policy
    }()
    let headers = CacheHeaders(
        cacheControl: "max-age=600", etag: "\"v1\"", lastModified: "Thu, 26 Nov 2026 11:00:00 GMT")
    let failure = FetchFailure(
        code: .httpStatus, message: "GET https://idp.example.com/jwks: HTTP 503", httpStatus: 503)

    /// A machine that loaded `TestKeySets.first` at t=0 with max-age=600.
    mutating func loaded() -> Machine {
        var machine = Machine(policy: policy)
        #expect(machine.timerFired(now: .zero) == .fetch(Validators()))
        _ = machine.fetchSucceeded(
            TestKeySets.first, headers: headers, now: .zero, responseTime: wallNow, using: &generator)
        return machine
    }

    @Test("empty → loading → ready: the first load publishes and plans the refresh")
    mutating func firstLoad() throws {
        var machine = Machine(policy: policy)
        guard case .empty = machine.state else { Issue.record("should start empty"); return }
        #expect(machine.availability(at: .zero) == .unavailable(.neverLoaded(lastError: nil)))
        #expect(machine.timerFired(now: .zero) == .fetch(Validators()))
        guard case .loading = machine.state else { Issue.record("should be loading"); return }
        let action = machine.fetchSucceeded(
            TestKeySets.first, headers: headers, now: .zero, responseTime: wallNow, using: &generator)
        guard case .publish(let record, let kind, let next) = action else {
            Issue.record("expected publish"); return
        }
        #expect(kind == .document(changed: true))
        #expect(record.expiresAt == .seconds(600))
        #expect(record.staleUntil == .seconds(600 + 3_600))
        #expect(next == .seconds(570))
        #expect(machine.availability(at: .seconds(1)) == .fresh(record))
    }

    @Test("a single flight: triggers during a fetch join it")
    mutating func singleFlight() {
        var machine = Machine(policy: policy)
        #expect(machine.refreshRequested(now: .zero) == .fetch(Validators()))
        #expect(machine.refreshRequested(now: .zero) == .none)
        #expect(machine.timerFired(now: .zero) == .none)
        var ready = loaded()
        #expect(ready.refreshRequested(now: .seconds(10)) == .fetch(headers.validators))
        #expect(ready.refreshRequested(now: .seconds(11)) == .none)
        #expect(ready.timerFired(now: .seconds(999)) == .none)
    }

    @Test("the timer re-arms when it fires early and refreshes conditionally when due")
    mutating func timer() {
        var machine = loaded()
        #expect(machine.timerFired(now: .seconds(569)) == .schedule(.seconds(570)))
        #expect(
            machine.timerFired(now: .seconds(570))
                == .fetch(Validators(etag: "\"v1\"", lastModified: "Thu, 26 Nov 2026 11:00:00 GMT")))
    }

    @Test("304 renews freshness from now and keeps the keys")
    mutating func notModified() throws {
        var machine = loaded()
        _ = machine.timerFired(now: .seconds(570))
        let action = machine.notModified(
            headers: CacheHeaders(cacheControl: "max-age=300"), now: .seconds(575), responseTime: wallNow,
            using: &generator)
        guard case .publish(let record, let kind, let next) = action else {
            Issue.record("expected publish"); return
        }
        #expect(kind == .renewed)
        #expect(record.keySet == TestKeySets.first)
        #expect(record.fetchedAt == .zero)
        #expect(record.validatedAt == .seconds(575))
        #expect(record.expiresAt == .seconds(875))
        #expect(next == .seconds(845))
        #expect(record.headers.etag == "\"v1\"")
    }

    @Test("a 304 without a cached set is a failure")
    mutating func notModifiedWithoutSet() {
        var machine = Machine(policy: policy)
        _ = machine.timerFired(now: .zero)
        let action = machine.notModified(
            headers: CacheHeaders(), now: .seconds(1), responseTime: wallNow, using: &generator)
        guard case .unavailable(let error, let retryAt) = action else { Issue.record("expected unavailable"); return }
        #expect(error.code == .unexpectedNotModified)
        #expect(retryAt == .seconds(2))
        #expect(machine.record == nil)
    }

    @Test("a new document publishes as changed; the same one as unchanged")
    mutating func changeDetection() {
        var machine = loaded()
        _ = machine.refreshRequested(now: .seconds(1))
        guard
            case .publish(_, let same, _) = machine.fetchSucceeded(
                TestKeySets.first, headers: headers, now: .seconds(1), responseTime: wallNow, using: &generator)
        else {
            Issue.record("expected publish"); return
        }
        #expect(same == .document(changed: false))
        _ = machine.refreshRequested(now: .seconds(2))
        guard
            case .publish(let record, let kind, _) = machine.fetchSucceeded(
                TestKeySets.second, headers: headers, now: .seconds(2), responseTime: wallNow, using: &generator)
        else {
            Issue.record("expected publish"); return
        }
        #expect(kind == .document(changed: true))
        #expect(record.keySet.kids == ["b"])
    }

    @Test("a failure never drops fresh keys")
    mutating func failureWhileFresh() {
        var machine = loaded()
        _ = machine.timerFired(now: .seconds(570))
        #expect(
            machine.fetchFailed(failure, now: .seconds(571), using: &generator)
                == .keepServing(failure, retryAt: .seconds(572)))
        guard case .fresh(let record) = machine.availability(at: .seconds(571)) else {
            Issue.record("should be fresh"); return
        }
        #expect(record.keySet == TestKeySets.first)
    }

    @Test("expired keys are served as stale until the stale limit, then dropped with the reason")
    mutating func staleWhileError() {
        var machine = loaded()
        var now = TestInstant.seconds(570)
        var retryAt = now
        var delays: [Duration] = []
        while now < .seconds(600 + 3_600) {
            #expect(machine.timerFired(now: retryAt) == .fetch(headers.validators))
            now = retryAt
            let action = machine.fetchFailed(failure, now: now, using: &generator)
            if case .keepServing(_, let next) = action {
                delays.append(now.duration(to: next))
                retryAt = next
            } else {
                #expect(now >= .seconds(4_200))
                guard case .unavailable(let error, _) = action else { Issue.record("expected unavailable"); return }
                #expect(error == failure)
                break
            }
            if now >= .seconds(600), now < .seconds(4_200) {
                #expect(machine.availability(at: now) == .stale(machine.record!, lastError: failure))
            }
        }
        #expect(Array(delays.prefix(6)) == [1, 2, 4, 8, 16, 32].map { Duration.seconds($0) })
        #expect(delays.max() == .seconds(300))
        #expect(machine.record == nil)
        #expect(
            machine.availability(at: now)
                == .unavailable(.staleLimitPassed(staleUntil: .seconds(4_200), lastError: failure)))
    }

    @Test("boundary instants: expiry and the stale limit are exclusive ends")
    mutating func boundaries() throws {
        let machine = loaded()
        let record = try #require(machine.record)
        let nanosecond = Duration.nanoseconds(1)
        #expect(record.standing(at: TestInstant(offset: .seconds(600) - nanosecond)) == .fresh)
        #expect(record.standing(at: .seconds(600)) == .stale)
        #expect(record.standing(at: TestInstant(offset: .seconds(4_200) - nanosecond)) == .stale)
        #expect(record.standing(at: .seconds(4_200)) == .expired)
        #expect(
            machine.availability(at: .seconds(4_200))
                == .unavailable(.staleLimitPassed(staleUntil: .seconds(4_200), lastError: nil)))
    }

    @Test("a longer stale-if-error extends the stale limit; a shorter one does not shrink it")
    mutating func staleIfError() {
        var machine = Machine(policy: policy)
        _ = machine.timerFired(now: .zero)
        _ = machine.fetchSucceeded(
            TestKeySets.first, headers: CacheHeaders(cacheControl: "max-age=600, stale-if-error=86400"), now: .zero,
            responseTime: wallNow, using: &generator)
        #expect(machine.record?.staleUntil == .seconds(600 + 86_400))
        _ = machine.refreshRequested(now: .seconds(1))
        _ = machine.fetchSucceeded(
            TestKeySets.first, headers: CacheHeaders(cacheControl: "max-age=600, stale-if-error=10"), now: .seconds(1),
            responseTime: wallNow, using: &generator)
        #expect(machine.record?.staleUntil == .seconds(601 + 3_600))
    }

    @Test("first-load failures back off and keep the reason")
    mutating func loadFailures() {
        var machine = Machine(policy: policy)
        _ = machine.timerFired(now: .zero)
        #expect(
            machine.fetchFailed(failure, now: .zero, using: &generator) == .unavailable(failure, retryAt: .seconds(1)))
        #expect(machine.timerFired(now: TestInstant(offset: .milliseconds(500))) == .schedule(.seconds(1)))
        #expect(machine.timerFired(now: .seconds(1)) == .fetch(Validators()))
        #expect(
            machine.fetchFailed(failure, now: .seconds(1), using: &generator)
                == .unavailable(failure, retryAt: .seconds(3)))
        #expect(machine.availability(at: .seconds(2)) == .unavailable(.neverLoaded(lastError: failure)))
    }

    @Test("Retry-After lengthens the delay but never past max_backoff")
    mutating func retryAfter() {
        var machine = Machine(policy: policy)
        _ = machine.timerFired(now: .zero)
        var throttled = failure
        throttled.retryAfter = .seconds(120)
        #expect(
            machine.fetchFailed(throttled, now: .zero, using: &generator)
                == .unavailable(throttled, retryAt: .seconds(120)))
        _ = machine.timerFired(now: .seconds(120))
        throttled.retryAfter = .seconds(86_400)
        #expect(
            machine.fetchFailed(throttled, now: .seconds(120), using: &generator)
                == .unavailable(throttled, retryAt: .seconds(420)))
    }

    @Test("success after failures clears the error count")
    mutating func recovery() {
        var machine = loaded()
        _ = machine.refreshRequested(now: .seconds(700))
        _ = machine.fetchFailed(failure, now: .seconds(700), using: &generator)
        _ = machine.timerFired(now: .seconds(701))
        _ = machine.fetchSucceeded(
            TestKeySets.second, headers: headers, now: .seconds(701), responseTime: wallNow, using: &generator)
        guard case .ready(let ready) = machine.state else { Issue.record("should be ready"); return }
        #expect(ready.failures == 0)
        #expect(ready.lastError == nil)
        #expect(machine.availability(at: .seconds(702)) == .fresh(ready.record))
    }

    @Test("a removed provider stops once and ignores late fetch results")
    mutating func removal() {
        var machine = loaded()
        _ = machine.refreshRequested(now: .seconds(1))
        #expect(machine.removed() == .stop)
        #expect(machine.removed() == .none)
        #expect(
            machine.fetchSucceeded(
                TestKeySets.second, headers: headers, now: .seconds(2), responseTime: wallNow, using: &generator)
                == .none)
        #expect(machine.fetchFailed(failure, now: .seconds(2), using: &generator) == .none)
        #expect(machine.timerFired(now: .seconds(3)) == .none)
        #expect(machine.availability(at: .seconds(3)) == .unavailable(.removed))
    }

    @Test("keys restored from a snapshot are served and refreshed on schedule")
    mutating func restoring() throws {
        let record = try #require(loaded().record)
        var fresh = Machine(policy: policy, restoring: record, now: .seconds(100))
        #expect(fresh.availability(at: .seconds(100)) == .fresh(record))
        #expect(fresh.timerFired(now: .seconds(100)) == .schedule(.seconds(570)))
        var expired = Machine(policy: policy, restoring: record, now: .seconds(700))
        #expect(expired.availability(at: .seconds(700)) == .stale(record, lastError: nil))
        #expect(expired.timerFired(now: .seconds(700)) == .fetch(headers.validators))
    }
}
