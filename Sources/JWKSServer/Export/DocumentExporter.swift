import Foundation
public import JWKSCache
public import JWKSConfig
import NIOConcurrencyHelpers
import NIOCore

/// The file export (`server.export`): each provider's served keys as `{dir}/{tenant}/{provider}.json` and each
/// tenant's providers merged as `{dir}/{tenant}.json` — the same bytes the HTTP endpoint serves — written
/// atomically (``AtomicFile``: a reader never sees a part) when the served set changes. Files are never removed
/// because of an outage: a failed refresh writes nothing, so the last good keys stay. A provider that leaves
/// the registry loses its file, at a reload or at the next start. Not exported: ids `.` and `..` (unusable as
/// file names), tenant ids ending in `.json` (their folder would be another tenant's merged file), and tenants
/// with `allowed_uids`/`allowed_gids` (a file's mode cannot say who they admit).
///
/// Every file operation is relative to a directory descriptor opened with `O_NOFOLLOW`, and the directory and
/// its tenant folders must be the daemon's own and writable by nobody else (whoever can write there can plant
/// keys, or a symbolic link that sends a removal elsewhere).
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

    /// Creates the directory if it is missing (with its parents), and checks that it is the daemon's own.
    /// - Throws: when it cannot be created, is not a directory, or belongs to or is writable by someone else.
    public func prepare() throws(AtomicFile.Failure) {
        var components: [String] = []
        var path = config.dir
        while !FileManager.default.fileExists(atPath: path), path != "/", !path.isEmpty {
            components.append(path)
            path = (path as NSString).deletingLastPathComponent
        }
        for missing in components.reversed() where mkdir(missing, directoryMode) != 0 && errno != EEXIST {
            throw AtomicFile.Failure(path: missing, reason: "cannot be created: \(String(cString: strerror(errno)))")
        }
        let descriptor = try openRoot()
        close(descriptor)
    }

    /// Writes every provider's and tenant's file whose content changed, and removes the files of providers and
    /// tenants no longer exported (at start, after falling behind).
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
        if let failure = removeStrays() { failures.append(failure) }
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
        guard Self.isExportable(tenant: key.tenant), Self.isExportable(key.provider) else { return [] }
        lastGood.withLockedValue { _ = $0.removeValue(forKey: key) }
        written.withLockedValue { _ = $0.removeValue(forKey: "\(key.tenant)/\(key.provider).json") }
        let root: Int32
        do {
            root = try openRoot()
        } catch {
            return [error]
        }
        defer { close(root) }
        if let folder = try? openTenant(key.tenant, in: root, create: false) {
            unlinkat(folder, "\(key.provider).json", 0)
            close(folder)
        }
        if engine.registry.tenant(key.tenant) != nil { return [writeTenant(key.tenant)].compactMap { $0 } }
        written.withLockedValue { _ = $0.removeValue(forKey: "\(key.tenant).json") }
        unlinkat(root, "\(key.tenant).json", 0)
        unlinkat(root, key.tenant, AT_REMOVEDIR)
        return []
    }

    private func writeProvider(_ key: ProviderKey) -> AtomicFile.Failure? {
        guard Self.isExportable(tenant: key.tenant), Self.isExportable(key.provider),
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
        guard Self.isExportable(tenant: id), let tenant = registry.tenant(id), Self.isPublic(tenant.config) else {
            return nil
        }
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

    /// Writes a document as `name` in the export directory or a tenant's folder, unless that file already has it.
    private func write(_ document: PreparedDocument, directory folder: String?, name: String)
        -> AtomicFile.Failure?
    {
        let relative = folder.map { "\($0)/\(name)" } ?? name
        if written.withLockedValue({ $0[relative] == document.etag }) { return nil }
        do {
            let root = try openRoot()
            var descriptor = root
            if let folder {
                defer { close(root) }
                descriptor = try openTenant(folder, in: root, create: true)
            }
            defer { close(descriptor) }
            try AtomicFile.write(
                document.body.readableBytesView, name: name, in: descriptor, path: config.dir + "/" + relative,
                mode: mode_t(config.fileMode), owner: config.owner.map { uid_t($0) },
                group: config.group.map { gid_t($0) })
        } catch {
            return error
        }
        written.withLockedValue { $0[relative] = document.etag }
        return nil
    }

    /// Removes the `.json` files (and emptied folders) of tenants and providers no longer exported, and temporary
    /// files a crash left behind. Symbolic links are removed, never followed.
    private func removeStrays() -> AtomicFile.Failure? {
        let registry = engine.registry
        var wanted: [String: Set<String>] = [:]
        for tenant in registry.config.tenants
        where Self.isExportable(tenant: tenant.id) && Self.isPublic(tenant) {
            var files = Set<String>()
            for provider in tenant.providers where Self.isExportable(provider.id) {
                files.insert("\(provider.id).json")
            }
            wanted[tenant.id] = files
        }
        let root: Int32
        do {
            root = try openRoot()
        } catch {
            return error
        }
        defer { close(root) }
        for name in Self.names(in: root) {
            if name.hasPrefix("."), name.contains(".tmp-") {
                unlinkat(root, name, 0)
            } else if name.hasSuffix(".json") {
                if wanted[String(name.dropLast(5))] == nil { unlinkat(root, name, 0) }
            } else if let folder = try? openTenant(name, in: root, create: false) {
                let providers = wanted[name]
                for file in Self.names(in: folder)
                where (file.hasSuffix(".json") && providers?.contains(file) != true)
                    || (file.hasPrefix(".") && file.contains(".tmp-"))
                {
                    unlinkat(folder, file, 0)
                }
                close(folder)
                if providers == nil { unlinkat(root, name, AT_REMOVEDIR) }
            }
        }
        return nil
    }

    /// The export directory, opened without following a symbolic link, checked to be the daemon's own.
    private func openRoot() throws(AtomicFile.Failure) -> Int32 {
        try Self.openOwnDirectory(config.dir, in: AT_FDCWD, path: config.dir)
    }

    /// A tenant's folder in the export directory (created when asked), opened without following a symbolic link
    /// and checked to be the daemon's own.
    private func openTenant(_ name: String, in root: Int32, create: Bool) throws(AtomicFile.Failure) -> Int32 {
        if create, mkdirat(root, name, directoryMode) == 0, config.owner != nil || config.group != nil {
            fchownat(root, name, config.owner ?? uid_t.max, config.group ?? gid_t.max, AT_SYMLINK_NOFOLLOW)
        }
        return try Self.openOwnDirectory(name, in: root, path: config.dir + "/" + name)
    }

    /// `name` in the directory `parent` (`AT_FDCWD`: a path), opened as a directory without following a symbolic
    /// link and checked with ``checkOwnership(_:path:)``; `path` names it in messages.
    private static func openOwnDirectory(_ name: String, in parent: Int32, path: String) throws(AtomicFile.Failure)
        -> Int32
    {
        let descriptor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw AtomicFile.Failure(
                path: path, reason: "cannot be opened as a directory: \(String(cString: strerror(errno)))")
        }
        do {
            try checkOwnership(descriptor, path: path)
        } catch {
            close(descriptor)
            throw error
        }
        return descriptor
    }

    /// A directory the export writes in must be owned by the daemon's uid and writable by nobody else: whoever can
    /// write there can plant keys that proxies trust, or links that send a write or a removal elsewhere.
    static func checkOwnership(_ descriptor: Int32, path: String) throws(AtomicFile.Failure) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw AtomicFile.Failure(path: path, reason: "cannot be read: \(String(cString: strerror(errno)))")
        }
        guard info.st_uid == geteuid() else {
            throw AtomicFile.Failure(
                path: path, reason: "is owned by uid \(info.st_uid), not by this daemon's uid \(geteuid())")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw AtomicFile.Failure(
                path: path,
                reason:
                    "is writable by its group or others (mode 0\(String(info.st_mode & 0o777, radix: 8))); anyone who can write there can plant keys"
            )
        }
    }

    /// The names in an open directory (not `.` and `..`).
    private static func names(in descriptor: Int32) -> [String] {
        let copy = dup(descriptor)
        guard copy >= 0, let stream = fdopendir(copy) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether an id can be a file name (`.` and `..` cannot).
    static func isExportable(_ id: String) -> Bool { id != "." && id != ".." }

    /// Whether a tenant id can be a folder beside the merged files (not `.`, `..` or one ending in `.json`).
    public static func isExportable(tenant id: String) -> Bool { isExportable(id) && !id.hasSuffix(".json") }

    /// Whether a tenant's keys may go to a file: not when it restricts its readers (`allowed_uids`/`allowed_gids`),
    /// which file modes cannot express.
    public static func isPublic(_ tenant: TenantConfig) -> Bool {
        tenant.allowedUIDs == nil && tenant.allowedGIDs == nil
    }
}
