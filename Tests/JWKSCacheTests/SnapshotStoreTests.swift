import DevIssuer
import Foundation
import JWKS
import JWKSConfig
import Testing

@testable import JWKSCache

@Suite("Warm-restart snapshots")
struct SnapshotStoreTests {
    static func record(clock: ManualClock) throws -> KeySetRecord<ManualClock.Instant> {
        var machine = ProviderStateMachine<ManualClock.Instant>(policy: ProviderPolicy())
        var generator = SeededGenerator(seed: 1)
        _ = machine.timerFired(now: clock.now)
        _ = machine.fetchSucceeded(
            TestKeySets.first, headers: CacheHeaders(cacheControl: "max-age=600", etag: "\"v1\""), now: clock.now,
            responseTime: wallNow, using: &generator)
        return try #require(machine.record)
    }

    static func provider() throws -> ProviderConfig {
        ProviderConfig(
            id: "idp", source: .jwksURI(try HTTPURL("https://idp.example.com/jwks")), policy: ProviderPolicy())
    }

    @Test("a snapshot round-trips, keeps its wall-clock freshness, and ages while the daemon is down")
    func roundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-snap-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SnapshotStore(directory: directory)
        let key = ProviderKey(tenant: "acme", provider: "idp")
        let written = try Self.record(clock: ManualClock())
        try store.write(written, key: key, source: "jwks_uri https://idp.example.com/jwks")
        let entry = try #require(try store.read(key))
        #expect(entry.etag == "\"v1\"" && entry.ttlSeconds == 600 && entry.validatedAt == wallNow)
        let later = ManualClock()
        let restored = try store.record(
            from: entry, provider: try Self.provider(), clock: later, wallNow: wallNow + 100,
            sourceSummary: "jwks_uri https://idp.example.com/jwks")
        #expect(restored.keySet == written.keySet)
        #expect(restored.headers.etag == "\"v1\"")
        #expect(restored.standing(at: later.now) == .fresh)
        #expect(later.now.duration(to: restored.expiresAt) == .seconds(500))
        let stale = try store.record(
            from: entry, provider: try Self.provider(), clock: later, wallNow: wallNow + 700,
            sourceSummary: "jwks_uri https://idp.example.com/jwks")
        #expect(stale.standing(at: later.now) == .stale)
    }

    @Test("corrupt, foreign and outdated snapshots are rejected with a reason; stray files are removed")
    func rejections() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-snap-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SnapshotStore(directory: directory)
        let key = ProviderKey(tenant: "acme", provider: "idp")
        try store.write(
            try Self.record(clock: ManualClock()), key: key, source: "jwks_uri https://idp.example.com/jwks")
        let entry = try #require(try store.read(key))
        #expect(throws: SnapshotStore.Rejection.self) {
            _ = try store.record(
                from: entry, provider: try Self.provider(), clock: ManualClock(), wallNow: wallNow,
                sourceSummary: "issuer https://other.example.com")
        }
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: store.path(for: key))))
        bytes[20] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: store.path(for: key)))
        #expect {
            _ = try store.read(key)
        } throws: { error in
            (error as? SnapshotStore.Rejection)?.reason == "checksum mismatch"
        }
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: store.path(for: key)))
        #expect(throws: SnapshotStore.Rejection.self) { _ = try store.read(key) }
        let stray = directory + "/" + String(repeating: "0", count: 64) + ".snapshot"
        try Data().write(to: URL(fileURLWithPath: stray))
        store.removeFiles(except: [store.path(for: key)])
        #expect(!FileManager.default.fileExists(atPath: stray))
        #expect(FileManager.default.fileExists(atPath: store.path(for: key)))
    }

    @Test("no-store key sets are never written")
    func noStore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-snap-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SnapshotStore(directory: directory)
        var record = try Self.record(clock: ManualClock())
        record.freshness.storable = false
        let key = ProviderKey(tenant: "acme", provider: "idp")
        try store.write(record, key: key, source: "x")
        #expect(try store.read(key) == nil)
    }
}
