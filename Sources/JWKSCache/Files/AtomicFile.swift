public import Foundation

/// Replaces a file atomically inside a directory opened by the caller: a new file with a random name (`O_EXCL |
/// O_NOFOLLOW`: nothing planted there is followed or reused), written, given its mode (and owner), fsynced,
/// renamed over the name, and the directory fsynced. A reader sees the old file or the new one, never a part.
public enum AtomicFile {
    /// A write that failed: the path and why.
    public struct Failure: Error, CustomStringConvertible {
        /// The file.
        public let path: String
        /// Why.
        public let reason: String
        /// `path: reason`.
        public var description: String { "\(path): \(reason)" }

        /// Creates a failure.
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// Writes `bytes` as `name` in `directory`.
    /// - Parameters:
    ///   - bytes: the content.
    ///   - name: the file's name in the directory (no slash).
    ///   - directory: an open descriptor of the directory.
    ///   - path: the file's path, for messages.
    ///   - mode: its permission bits (set explicitly, whatever the umask).
    ///   - owner: a uid to give it, or nil.
    ///   - group: a gid to give it, or nil.
    public static func write(
        _ bytes: some Collection<UInt8>, name: String, in directory: Int32, path: String, mode: mode_t = 0o600,
        owner: uid_t? = nil, group: gid_t? = nil
    ) throws(Failure) {
        var random = SystemRandomNumberGenerator()
        let temporary = ".\(name).tmp-\(String(random.next(), radix: 36))"
        let descriptor = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(path: path, reason: "cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        func fail(_ what: String) -> Failure {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            unlinkat(directory, temporary, 0)
            return Failure(path: path, reason: "\(what) failed: \(reason)")
        }
        let content = Array(bytes)
        var offset = 0
        while offset < content.count {
            let written = content[offset...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else {
                if written < 0, errno == EINTR { continue }
                throw fail("write")
            }
            offset += written
        }
        guard fchmod(descriptor, mode) == 0 else { throw fail("chmod") }
        if owner != nil || group != nil {
            guard fchown(descriptor, owner ?? uid_t.max, group ?? gid_t.max) == 0 else { throw fail("chown") }
        }
        guard fsync(descriptor) == 0 else { throw fail("fsync") }
        guard close(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            unlinkat(directory, temporary, 0)
            throw Failure(path: path, reason: "close failed: \(reason)")
        }
        guard renameat(directory, temporary, directory, name) == 0 else {
            let reason = String(cString: strerror(errno))
            unlinkat(directory, temporary, 0)
            throw Failure(path: path, reason: "rename failed: \(reason)")
        }
        fsync(directory)
    }
}
