import JWKSCache
import Testing

@testable import jwksd

/// When snapshot files are written: new keys at once, renewals coalesced.
@Suite("Snapshot write schedule")
struct SnapshotScheduleTests {
    let start = ContinuousClock.now
    let acme = ProviderKey(tenant: "acme", provider: "idp")
    let beta = ProviderKey(tenant: "beta", provider: "idp")

    @Test("new keys are written at once; 304s and unchanged 200s wait for the interval, once per provider")
    func coalesced() {
        var schedule = SnapshotSchedule(interval: .seconds(60), start: start)
        #expect(schedule.event(.published(changed: true, keys: 2, dropped: 0), key: acme) == .write)
        #expect(schedule.event(.notModified, key: acme) == .deferred)
        #expect(schedule.event(.notModified, key: acme) == .deferred)
        #expect(schedule.event(.published(changed: false, keys: 2, dropped: 0), key: beta) == .deferred)
        #expect(schedule.event(.fetchStarted, key: beta) == .none)
        #expect(
            schedule.event(.failed(FetchFailure(code: .transport, message: "x"), keptKeys: true), key: beta) == .none)
        #expect(schedule.due(now: start.advanced(by: .seconds(59))).isEmpty)
        #expect(schedule.due(now: start.advanced(by: .seconds(60))) == [acme, beta])
        #expect(schedule.pending.isEmpty)
        // The next batch is due an interval after this one.
        #expect(schedule.event(.notModified, key: acme) == .deferred)
        #expect(schedule.due(now: start.advanced(by: .seconds(100))).isEmpty)
        #expect(schedule.due(now: start.advanced(by: .seconds(120))) == [acme])
    }

    @Test("new keys and removals take a provider out of the pending renewals; shutdown flushes the rest")
    func supersededAndForced() {
        var schedule = SnapshotSchedule(interval: .seconds(60), start: start)
        #expect(schedule.event(.notModified, key: acme) == .deferred)
        #expect(schedule.event(.notModified, key: beta) == .deferred)
        #expect(schedule.event(.published(changed: true, keys: 1, dropped: 0), key: acme) == .write)
        #expect(schedule.event(.removed, key: beta) == .remove)
        #expect(schedule.pending.isEmpty)
        #expect(schedule.event(.notModified, key: acme) == .deferred)
        #expect(schedule.due(now: start.advanced(by: .seconds(1)), force: true) == [acme])
        #expect(schedule.due(now: start.advanced(by: .seconds(2)), force: true).isEmpty)
    }
}
