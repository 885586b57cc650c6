import Foundation
public import JWKSCache
public import JWKSConfig
import NIOConcurrencyHelpers
import NIOCore

/// The file export (`server.export`): each provider's served keys as `{dir}/{tenant}/{provider}.json` and each
/// tenant's providers merged as `{dir}/{tenant}.json` — the same bytes the HTTP endpoint serves — written
/// atomically (``AtomicFile``: a reader never sees a part) when the served set changes. Files are never removed
/// because of an outage: a failed refresh writes nothing, so the last good keys stay. A provider that leaves
/// the registry loses its file. Ids `.` and `..` (valid ids, unusable as file names) are not exported, nor are
/// tenants with `allowed_uids`/`allowed_gids` (a file's mode cannot say who they admit).
public final class DocumentExporter: Sendable {
    /// The settings, with `dir` resolved.
    public let config: ExportConfig
    private let engine: JWKSEngine
    private let merged = MergedDocuments()
    /// The ETag last written per relative path: a publication that changed nothing writes nothing.
    private let written = NIOLockedValueBox<[String: String]>([:])
    /// Each provider's last snapshot with keys: a provider whose keys expired during an outage keeps its last good
    /// keys in its tenant's file too.
    private let lastGood = NIOLockedValueBox<[ProviderKey: ProviderSnapshot]>([:])

    /// Creates the exporter; nothing is written until ``prepare()`` and an export.
    /// - Parameters:
    ///   - engine: the engine whose published snapshots are written.
    ///   - config: `server.export` with `dir` resolved against the config's directory.
    public init(engine: JWKSEngine, config: ExportConfig) {
        self.engine = engine
        self.config = config
    }

    /// Directories' mode: the files' bits plus search wherever read is given.
    var directoryMode: mode_t { mode_t(config.fileMode) | (mode_t(config.fileMode) & 0o444) >> 2 }

    /// Creates the directory if it is missing (with its parents).
    /// - Throws: when it cannot be created or is not a directory.
    public func prepare() throws(AtomicFile.Failure) {
        var info = stat()
        if stat(config.dir, &info) != 0 {
            do {
                try FileManager.default.createDirectory(
                    atPath: config.dir, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: Int(directoryMode)])
            } catch {
                throw AtomicFile.Failure(path: config.dir, reason: "cannot be created: \(error.localizedDescription)")
            }
        } else if info.st_mode & S_IFMT != S_IFDIR {
            throw AtomicFile.Failure(path: config.dir, reason: "is not a directory")
        }
    }

    /// Writes every provider's and tenant's file whose content changed (at start, after falling behind).
    /// - Returns: the writes that failed.
    @discardableResult
    public func exportAll() -> [AtomicFile.Failure] {
        let registry = engine.registry
        var failures: [AtomicFile.Failure] = []
        for tenant in registry.config.tenants {
            guard let entries = registry.tenant(tenant.id) else { continue }
            for entry in entries.providers {
                if let failure = writeProvider(entry.key) { failures.append(failure) }
            }
            if let failure = writeTenant(tenant.id) { failures.append(failure) }
        }
        return failures
    }

    /// A provider published: writes its file and its tenant's when their content changed.
    /// - Returns: the writes that failed.
    @discardableResult
    public func export(_ key: ProviderKey) -> [AtomicFile.Failure] {
        [writeProvider(key), writeTenant(key.tenant)].compactMap { $0 }
    }

    /// A provider left the registry: its file goes, its tenant's is rewritten (or goes with the tenant).
    /// - Returns: the writes that failed.
    @discardableResult
    public func remove(_ key: ProviderKey) -> [AtomicFile.Failure] {
        guard Self.isExportable(key.tenant), Self.isExportable(key.provider) else { return [] }
        let relative = "\(key.tenant)/\(key.provider).json"
        lastGood.withLockedValue { _ = $0.removeValue(forKey: key) }
        unlink(config.dir + "/" + relative)
        written.withLockedValue { _ = $0.removeValue(forKey: relative) }
        guard engine.registry.tenant(key.tenant) == nil else { return [writeTenant(key.tenant)].compactMap { $0 } }
        unlink(config.dir + "/\(key.tenant).json")
        rmdir(config.dir + "/\(key.tenant)")
        written.withLockedValue { _ = $0.removeValue(forKey: "\(key.tenant).json") }
        return []
    }

    private func writeProvider(_ key: ProviderKey) -> AtomicFile.Failure? {
        guard Self.isExportable(key.tenant), Self.isExportable(key.provider),
            let tenant = engine.registry.tenant(key.tenant), Self.isPublic(tenant.config),
            let entry = engine.entry(tenant: key.tenant, provider: key.provider),
            let document = entry.snapshot.prepared?.document
        else { return nil }
        let snapshot = entry.snapshot
        lastGood.withLockedValue { $0[key] = snapshot }
        return write(document, directory: key.tenant, name: "\(key.provider).json")
    }

    private func writeTenant(_ id: String) -> AtomicFile.Failure? {
        let registry = engine.registry
        guard Self.isExportable(id), let tenant = registry.tenant(id), Self.isPublic(tenant.config) else { return nil }
        // Every provider with keys, whatever their standing, or its last good ones: an outage never takes keys
        // out of a file.
        let remembered = lastGood.withLockedValue { $0 }
        let parts = tenant.providers.map { entry -> ProviderSnapshot? in
            let snapshot = entry.snapshot
            return snapshot.record == nil ? remembered[entry.key] : snapshot
        }
        guard parts.contains(where: { $0 != nil }) else { return nil }
        let document = merged.document(tenant: id, generation: registry.generation, parts: parts)
        return write(document, directory: nil, name: "\(id).json")
    }

    /// Writes a document as `name` in the export directory or its subdirectory, unless that file already has it.
    private func write(_ document: PreparedDocument, directory subdirectory: String?, name: String)
        -> AtomicFile.Failure?
    {
        let relative = subdirectory.map { "\($0)/\(name)" } ?? name
        if written.withLockedValue({ $0[relative] == document.etag }) { return nil }
        let path = config.dir + "/" + relative
        var descriptor = open(config.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return AtomicFile.Failure(path: config.dir, reason: "cannot be opened: \(String(cString: strerror(errno)))")
        }
        if let subdirectory {
            if mkdirat(descriptor, subdirectory, directoryMode) == 0, config.owner != nil || config.group != nil {
                fchownat(descriptor, subdirectory, config.owner ?? uid_t.max, config.group ?? gid_t.max, 0)
            }
            let inner = openat(descriptor, subdirectory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(descriptor)
            guard inner >= 0 else {
                return AtomicFile.Failure(
                    path: config.dir + "/" + subdirectory,
                    reason: "cannot be opened as a directory: \(String(cString: strerror(errno)))")
            }
            descriptor = inner
        }
        defer { close(descriptor) }
        do {
            try AtomicFile.write(
                document.body.readableBytesView, name: name, in: descriptor, path: path, mode: mode_t(config.fileMode),
                owner: config.owner.map { uid_t($0) }, group: config.group.map { gid_t($0) })
        } catch {
            return error
        }
        written.withLockedValue { $0[relative] = document.etag }
        return nil
    }

    /// Whether an id can be a file name (`.` and `..` cannot).
    static func isExportable(_ id: String) -> Bool { id != "." && id != ".." }

    /// Whether a tenant's keys may go to a file: not when it restricts its readers (`allowed_uids`/`allowed_gids`),
    /// which file modes cannot express.
    public static func isPublic(_ tenant: TenantConfig) -> Bool {
        tenant.allowedUIDs == nil && tenant.allowedGIDs == nil
    }
}
