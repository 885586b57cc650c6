import DevIssuer
import Foundation
import JWKS
import JWKSConfig
import JWKSTestSupport
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

    // MARK: - Files that lie

    static let source = "jwks_uri https://idp.example.com/jwks"

    /// A written snapshot's entry, to forge variants of with a valid checksum.
    static func entry(in store: SnapshotStore, key: ProviderKey) throws -> SnapshotStore.Entry {
        try store.write(try Self.record(clock: ManualClock()), key: key, source: source)
        return try #require(try store.read(key))
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-snap-\(UUID())").path
    }

    @Test(
        "extreme instants with a valid checksum are rejected, never trapped on",
        arguments: [
            ("fetchedAt", Int64.max), ("fetchedAt", Int64.min), ("validatedAt", Int64.max),
            ("validatedAt", Int64.min), ("ttlSeconds", Int64.max), ("ttlSeconds", -1),
            ("staleIfErrorSeconds", Int64.min), ("validatedAt", wallNow + 10 * 86_400),
        ])
    func extremeInstants(_ field: String, _ value: Int64) throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SnapshotStore(directory: directory)
        let key = ProviderKey(tenant: "acme", provider: "idp")
        var entry = try Self.entry(in: store, key: key)
        switch field {
        case "fetchedAt": entry.fetchedAt = value
        case "validatedAt": entry.validatedAt = value
        case "ttlSeconds": entry.ttlSeconds = value
        default: entry.staleIfErrorSeconds = value
        }
        try Data(try SnapshotStore.encode(entry)).write(to: URL(fileURLWithPath: store.path(for: key)))
        let read = try #require(try store.read(key))
        #expect(throws: SnapshotStore.Rejection.self) {
            _ = try store.record(
                from: read, provider: try Self.provider(), clock: ManualClock(), wallNow: wallNow,
                sourceSummary: Self.source)
        }
    }

    @Test("a forged ten-year TTL is clamped to max_ttl from the validation time, and never past now + max_ttl")
    func forgedTTL() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SnapshotStore(directory: directory)
        let key = ProviderKey(tenant: "acme", provider: "idp")
        var entry = try Self.entry(in: store, key: key)
        entry.ttlSeconds = 10 * 365 * 86_400
        entry.validatedAt = wallNow - 3_600
        entry.fetchedAt = wallNow - 3_600
        try Data(try SnapshotStore.encode(entry)).write(to: URL(fileURLWithPath: store.path(for: key)))
        var provider = try Self.provider()
        provider.policy.maxTTL = .seconds(86_400)
        let clock = ManualClock()
        let record = try store.record(
            from: try #require(try store.read(key)), provider: provider, clock: clock, wallNow: wallNow,
            sourceSummary: Self.source)
        #expect(clock.now.duration(to: record.expiresAt) == .seconds(86_400 - 3_600))
        #expect(record.freshness.ttl == .seconds(86_400))
        // Validated "a day ahead" (clock skew allowed), still no later than now + max_ttl.
        entry.validatedAt = wallNow + 86_000
        try Data(try SnapshotStore.encode(entry)).write(to: URL(fileURLWithPath: store.path(for: key)))
        let ahead = try store.record(
            from: try #require(try store.read(key)), provider: provider, clock: clock, wallNow: wallNow,
            sourceSummary: Self.source)
        #expect(clock.now.duration(to: ahead.expiresAt) <= .seconds(86_400))
    }

    @Test("symlinks planted at the snapshot's path or at the old temporary name are never written through")
    func plantedSymlinks() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SnapshotStore(directory: directory)
        try store.prepare()
        let victim = directory + "-victim"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        defer { try? FileManager.default.removeItem(atPath: victim) }
        let key = ProviderKey(tenant: "acme", provider: "idp")
        let target = store.path(for: key)
        try FileManager.default.createSymbolicLink(atPath: target + ".tmp-\(getpid())", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(atPath: target, withDestinationPath: victim)
        #expect(throws: SnapshotStore.Rejection.self) { _ = try store.read(key) }
        try store.write(try Self.record(clock: ManualClock()), key: key, source: Self.source)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        let mode = FileMode(target, followingLinks: false)
        #expect(mode?.isRegularFile == true && mode?.permissions == 0o600)
        #expect(try store.read(key) != nil)
    }

    @Test("the directory is created 0700; one writable by others or owned by another uid is refused")
    func directoryOwnership() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SnapshotStore(directory: directory)
        try store.prepare()
        #expect(FileMode(directory)?.permissions == 0o700)
        #expect(chmod(directory, 0o777) == 0)
        #expect(throws: SnapshotStore.Rejection.self) { try store.prepare() }
        #expect(throws: SnapshotStore.Rejection.self) {
            try store.write(
                try Self.record(clock: ManualClock()), key: ProviderKey(tenant: "a", provider: "b"), source: "x")
        }
        #expect(chmod(directory, 0o720) == 0)
        #expect(throws: SnapshotStore.Rejection.self) { try store.prepare() }
        #expect(chmod(directory, 0o755) == 0)
        try store.prepare()
        if geteuid() == 0 {
            #expect(chown(directory, 12_345, 12_345) == 0)
            #expect(throws: SnapshotStore.Rejection.self) { try store.prepare() }
        }
    }

    @Test("an oversized snapshot file is refused without being read whole")
    func oversizedFile() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SnapshotStore(directory: directory)
        try store.prepare()
        let key = ProviderKey(tenant: "acme", provider: "idp")
        let handle = try #require(
            FileHandle(
                forWritingAtPath: { () -> String in
                    _ = FileManager.default.createFile(atPath: store.path(for: key), contents: nil)
                    return store.path(for: key)
                }()))
        try handle.truncate(atOffset: UInt64(SnapshotStore.maximumPayload + 1_000))
        try handle.close()
        #expect {
            _ = try store.read(key)
        } throws: { error in
            (error as? SnapshotStore.Rejection)?.reason.contains("the most a snapshot may have") == true
        }
    }
}
