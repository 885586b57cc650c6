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
///
/// The directory must be the daemon's own: it is created with mode 0700, and one owned by another uid or
/// writable by group or others is refused. Files are created with `O_EXCL | O_NOFOLLOW` under a random name
/// relative to the directory's descriptor and renamed into place, and read with `O_NOFOLLOW` up to a cap, so a
/// planted symlink can neither be written through nor read. A file that passes the checksum is still not
/// trusted: its instants are range-checked and its freshness clamped to the provider's `max_ttl`.
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
    /// The most bytes a payload may inflate to, and the most bytes of compressed payload a file may hold.
    static let maximumPayload = 64 * 1_048_576
    /// The header before the payload and the checksum after it.
    static let headerBytes = 13
    static let checksumBytes = 32
    /// How far before "now" a stored instant may be (ten years) and after it (a day of clock skew).
    static let maximumAge: Int64 = 10 * 366 * 86_400
    static let maximumSkew: Int64 = 86_400

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
        let file = try Self.encode(entry)
        let descriptor = try openDirectory()
        defer { close(descriptor) }
        try AtomicFile.write(file, name: (target as NSString).lastPathComponent, in: descriptor, path: target)
    }

    /// The file's bytes for an entry: magic, version, length, zlib payload, checksum.
    static func encode(_ entry: Entry) throws -> [UInt8] {
        var json = ByteBuffer(bytes: Array(try JSONEncoder().encode(entry)))
        let compressed = try json.compress(with: .zlib())
        var file = magic + [1]
        let length = UInt32(compressed.readableBytes)
        file += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        let payload = Array(buffer: compressed)
        return file + payload + Array(SHA256.hash(data: payload))
    }

    /// Creates the directory (mode 0700) when it is missing and checks that it is the daemon's own: a
    /// directory, owned by this uid, not writable by group or others. Call at start so a bad directory stops
    /// the daemon with a clear message instead of failing each write.
    /// - Throws: ``Rejection`` saying what is wrong with the directory.
    public func prepare() throws(Rejection) {
        close(try openDirectory())
    }

    /// Opens the directory after creating or checking it.
    private func openDirectory() throws(Rejection) -> Int32 {
        func reject(_ reason: String) -> Rejection { Rejection(path: directory, reason: reason) }
        var info = stat()
        if stat(directory, &info) != 0 {
            guard errno == ENOENT else { throw reject("cannot be read: \(String(cString: strerror(errno)))") }
            let parent = (directory as NSString).deletingLastPathComponent
            if !parent.isEmpty {
                try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            }
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
                throw reject("cannot be created: \(String(cString: strerror(errno)))")
            }
            guard stat(directory, &info) == 0 else {
                throw reject("cannot be read: \(String(cString: strerror(errno)))")
            }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw reject("is not a directory") }
        guard info.st_uid == geteuid() else {
            throw reject(
                "is owned by uid \(info.st_uid), not by this daemon's uid \(geteuid()); snapshot_dir must be the daemon's own"
            )
        }
        guard info.st_mode & 0o022 == 0 else {
            throw reject(
                "is writable by \(info.st_mode & 0o022 == 0o022 ? "its group and others" : info.st_mode & 0o020 != 0 ? "its group" : "others") (mode 0\(String(info.st_mode & 0o777, radix: 8))); anyone who can write there can plant keys: chmod 0700 it"
            )
        }
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw reject("cannot be opened: \(String(cString: strerror(errno)))") }
        return descriptor
    }

    /// Removes a provider's snapshot (the provider left the registry).
    public func remove(_ key: ProviderKey) {
        try? FileManager.default.removeItem(atPath: path(for: key))
    }

    /// Deletes `.snapshot` files whose path is not in `wanted` (providers that left the registry) and temporary
    /// files a crash left behind.
    public func removeFiles(except wanted: Set<String>) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let stray = { (name: String) in
            (name.hasSuffix(".snapshot") && !wanted.contains(directory + "/" + name))
                || (name.hasPrefix(".") && name.contains(".snapshot.tmp-"))  // left by a crash mid-write
        }
        for name in names where stray(name) {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    /// Reads and checks one provider's snapshot.
    /// - Returns: the entry, or `nil` when there is no file.
    /// - Throws: ``Rejection`` for a corrupt, truncated or foreign file.
    public func read(_ key: ProviderKey) throws(Rejection) -> Entry? {
        let file = path(for: key)
        guard let bytes = try Self.readCapped(file, limit: Self.headerBytes + Self.maximumPayload + Self.checksumBytes)
        else { return nil }
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
    public func record(
        from entry: Entry, provider: ProviderConfig, clock: any EngineClock, wallNow: Int64, sourceSummary: String
    ) throws(Rejection) -> KeySetRecord<EngineInstant> {
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
        try Self.checkRanges(entry, wallNow: wallNow, file: file)
        let now = clock.now
        // A file that passes its checksum may still lie: freshness is clamped to the provider's max_ttl from the
        // stored validation, and never reaches past now + max_ttl (a validation time in the future included).
        let maxTTL = provider.policy.maxTTL.components.seconds
        let ttlSeconds = min(entry.ttlSeconds, maxTTL)
        let ttl = Duration.seconds(ttlSeconds)
        let freshness = Freshness(
            ttl: ttl, serverTTL: nil, source: Freshness.Source(rawValue: entry.freshnessSource) ?? .defaultTTL,
            staleIfError: entry.staleIfErrorSeconds.map { .seconds(min($0, CacheControl.maximumSeconds)) },
            storable: true)
        let expiresIn = min(entry.validatedAt + ttlSeconds - wallNow, maxTTL)
        let expiresAt = now.advanced(by: .seconds(expiresIn))
        let staleWindow = max(provider.policy.staleWhileError, freshness.staleIfError ?? .zero)
        return KeySetRecord(
            keySet: keySet,
            headers: CacheHeaders(
                cacheControl: entry.cacheControl, expires: entry.expires, date: entry.date, etag: entry.etag,
                lastModified: entry.lastModified),
            freshness: freshness, fetchedAt: now.advanced(by: .seconds(min(entry.fetchedAt, wallNow) - wallNow)),
            validatedAt: now.advanced(by: .seconds(min(entry.validatedAt, wallNow) - wallNow)), expiresAt: expiresAt,
            staleUntil: expiresAt.advanced(by: staleWindow), fetchedAtWall: entry.fetchedAt,
            validatedAtWall: entry.validatedAt)
    }

    /// Refuses instants and durations no real snapshot holds, before any arithmetic on them.
    static func checkRanges(_ entry: Entry, wallNow: Int64, file: String) throws(Rejection) {
        func reject(_ reason: String) -> Rejection { Rejection(path: file, reason: reason) }
        let earliest = wallNow - maximumAge
        let latest = wallNow + maximumSkew
        for (name, value) in [("fetchedAt", entry.fetchedAt), ("validatedAt", entry.validatedAt)] {
            guard value >= earliest, value <= latest else {
                throw reject("\(name) \(value) is not within ten years before now and a day after (now is \(wallNow))")
            }
        }
        guard entry.fetchedAt <= entry.validatedAt else {
            throw reject("fetchedAt \(entry.fetchedAt) is after validatedAt \(entry.validatedAt)")
        }
        guard entry.ttlSeconds >= 0, entry.ttlSeconds <= CacheControl.maximumSeconds else {
            throw reject("ttlSeconds \(entry.ttlSeconds) is out of range")
        }
        if let staleIfError = entry.staleIfErrorSeconds, staleIfError < 0 {
            throw reject("staleIfErrorSeconds \(staleIfError) is negative")
        }
    }

    /// Reads a regular file, refusing a symlink and anything longer than `limit`.
    /// - Returns: the bytes, or nil when there is no file.
    static func readCapped(_ path: String, limit: Int) throws(Rejection) -> [UInt8]? {
        let outcome: BoundedFile.Outcome
        do throws(BoundedFile.Failure) {
            outcome = try BoundedFile.read(path, limit: limit, followSymlinks: false)
        } catch {
            throw Rejection(path: path, reason: "cannot be read: \(error.reason)")
        }
        switch outcome {
        case .contents(let bytes, _): return bytes
        case .missing: return nil
        case .tooLarge(let size):
            throw Rejection(path: path, reason: "is \(size) bytes; the most a snapshot may have is \(limit)")
        }
    }
}
