import CompressNIO
import Crypto
import Foundation
import JWKS
public import JWKSConfig
import NIOCore

/// Warm-restart snapshots: each provider's last good key set with its validators and freshness, written
/// zlib-compressed with a SHA-256 checksum, atomically (temp file, fsync, rename), and read back at start so
/// lookups work before the network does.
///
/// File format: `JWKSDSNP` (8 bytes), version `1` (1 byte), zlib payload length (u32 big-endian), the zlib
/// payload (a JSON ``SnapshotStore/Entry``), then SHA-256 of the zlib payload (32 bytes). The file name is
/// the hex SHA-256 of `tenant NUL provider` plus `.snapshot`.
public struct SnapshotStore: Sendable {
    /// What one snapshot holds (wall-clock times: instants do not survive a restart).
    public struct Entry: Codable, Sendable, Equatable {
        /// The tenant.
        public var tenant: String
        /// The provider.
        public var provider: String
        /// The provider's source when written (`jwks_uri https://...`); a different source invalidates it.
        public var source: String
        /// The JWKS document as served (JSON text is UTF-8).
        public var document: String
        /// `ETag`, `Last-Modified`, `Cache-Control`, `Expires`, `Date` as stored.
        public var cacheControl: String?
        public var expires: String?
        public var date: String?
        public var etag: String?
        public var lastModified: String?
        /// Unix seconds of the last download and of the last confirmation.
        public var fetchedAt: Int64
        public var validatedAt: Int64
        /// The TTL applied at the last confirmation, and where it came from.
        public var ttlSeconds: Int64
        public var freshnessSource: String
        /// `stale-if-error`, seconds.
        public var staleIfErrorSeconds: Int64?
    }

    /// Why a snapshot was not used.
    public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        /// The file.
        public var path: String
        /// Why.
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    static let magic = Array("JWKSDSNP".utf8)
    static let maximumPayload = 64 * 1_048_576

    /// The directory (resolved).
    public let directory: String

    /// A store in `directory` (created when missing).
    public init(directory: String) {
        self.directory = directory
    }

    /// The file of one provider.
    public func path(for key: ProviderKey) -> String {
        let digest = SHA256.hash(data: Array("\(key.tenant)\u{0}\(key.provider)".utf8))
        return directory + "/" + digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + ".snapshot"
    }

    /// Writes a provider's snapshot atomically; `no-store` key sets are not written (and an old file is removed).
    /// - Throws: when the directory or file cannot be written.
    public func write<Instant>(_ record: KeySetRecord<Instant>, key: ProviderKey, source: String) throws {
        let target = path(for: key)
        guard record.freshness.storable else {
            try? FileManager.default.removeItem(atPath: target)
            return
        }
        let entry = Entry(
            tenant: key.tenant, provider: key.provider, source: source,
            document: String(decoding: record.keySet.document, as: UTF8.self),
            cacheControl: record.headers.cacheControl, expires: record.headers.expires, date: record.headers.date,
            etag: record.headers.etag, lastModified: record.headers.lastModified, fetchedAt: record.fetchedAtWall,
            validatedAt: record.validatedAtWall, ttlSeconds: record.freshness.ttl.components.seconds,
            freshnessSource: record.freshness.source.rawValue,
            staleIfErrorSeconds: record.freshness.staleIfError?.components.seconds)
        var json = ByteBuffer(bytes: Array(try JSONEncoder().encode(entry)))
        let compressed = try json.compress(with: .zlib())
        var file = Self.magic + [1]
        let length = UInt32(compressed.readableBytes)
        file += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        let payload = Array(buffer: compressed)
        file += payload + Array(SHA256.hash(data: payload))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.writeAtomically(file, to: target)
    }

    /// Removes a provider's snapshot (the provider left the registry).
    public func remove(_ key: ProviderKey) {
        try? FileManager.default.removeItem(atPath: path(for: key))
    }

    /// Deletes `.snapshot` files whose path is not in `wanted` (providers that left the registry).
    public func removeFiles(except wanted: Set<String>) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasSuffix(".snapshot") && !wanted.contains(directory + "/" + name) {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    /// Reads and checks one provider's snapshot.
    /// - Returns: the entry, or `nil` when there is no file.
    /// - Throws: ``Rejection`` for a corrupt, truncated or foreign file.
    public func read(_ key: ProviderKey) throws(Rejection) -> Entry? {
        let file = path(for: key)
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let bytes = Array(data)
        func reject(_ reason: String) -> Rejection { Rejection(path: file, reason: reason) }
        guard bytes.count >= 13 + 32, Array(bytes[0..<8]) == Self.magic else { throw reject("not a jwksd snapshot") }
        guard bytes[8] == 1 else { throw reject("snapshot version \(bytes[8]) is not supported") }
        let length = Int(bytes[9]) << 24 | Int(bytes[10]) << 16 | Int(bytes[11]) << 8 | Int(bytes[12])
        guard bytes.count == 13 + length + 32 else { throw reject("truncated or padded (length \(length))") }
        let payload = Array(bytes[13..<(13 + length)])
        guard Array(SHA256.hash(data: payload)) == Array(bytes[(13 + length)...]) else {
            throw reject("checksum mismatch")
        }
        var compressed = ByteBuffer(bytes: payload)
        let entry: Entry
        do {
            let json = try compressed.decompress(with: .zlib(), maxSize: Self.maximumPayload)
            entry = try JSONDecoder().decode(Entry.self, from: Data(Array(buffer: json)))
        } catch {
            throw reject("payload does not decode: \(error)")
        }
        guard entry.tenant == key.tenant, entry.provider == key.provider else {
            throw reject("belongs to \(entry.tenant)/\(entry.provider), not \(key)")
        }
        return entry
    }

    /// Turns a snapshot into a record on `clock`, keeping its wall-clock freshness: keys that expired while
    /// the daemon was down come back stale (or, past the stale limit, unusable).
    /// - Throws: ``Rejection`` when the source changed or the document no longer validates.
    public func record<C: Clock>(
        from entry: Entry, provider: ProviderConfig, clock: C, wallNow: Int64, sourceSummary: String
    ) throws(Rejection) -> KeySetRecord<C.Instant> where C.Duration == Duration {
        let file = path(for: ProviderKey(tenant: entry.tenant, provider: entry.provider))
        guard entry.source == sourceSummary else {
            throw Rejection(path: file, reason: "written for \(entry.source), now \(sourceSummary)")
        }
        let keySet: JWKSet
        do {
            keySet = try JWKSet(
                parsing: Array(entry.document.utf8),
                options: JWKValidationOptions(minimumRSABits: provider.policy.minRSABits))
        } catch {
            throw Rejection(path: file, reason: "the stored set no longer validates: \(error.message)")
        }
        let now = clock.now
        let ttl = Duration.seconds(entry.ttlSeconds)
        let freshness = Freshness(
            ttl: ttl, serverTTL: nil, source: Freshness.Source(rawValue: entry.freshnessSource) ?? .defaultTTL,
            staleIfError: entry.staleIfErrorSeconds.map { .seconds($0) }, storable: true)
        let expiresAt = now.advanced(by: .seconds(entry.validatedAt + entry.ttlSeconds - wallNow))
        let staleWindow = max(provider.policy.staleWhileError, freshness.staleIfError ?? .zero)
        return KeySetRecord(
            keySet: keySet,
            headers: CacheHeaders(
                cacheControl: entry.cacheControl, expires: entry.expires, date: entry.date, etag: entry.etag,
                lastModified: entry.lastModified),
            freshness: freshness, fetchedAt: now.advanced(by: .seconds(entry.fetchedAt - wallNow)),
            validatedAt: now.advanced(by: .seconds(entry.validatedAt - wallNow)), expiresAt: expiresAt,
            staleUntil: expiresAt.advanced(by: staleWindow), fetchedAtWall: entry.fetchedAt,
            validatedAtWall: entry.validatedAt)
    }

    private static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw Rejection(path: temporary, reason: String(cString: strerror(errno))) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else {
                close(descriptor)
                unlink(temporary)
                throw Rejection(path: temporary, reason: String(cString: strerror(errno)))
            }
            offset += written
        }
        guard fsync(descriptor) == 0, close(descriptor) == 0 else {
            unlink(temporary)
            throw Rejection(path: temporary, reason: "fsync failed: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Rejection(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
