import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a file that someone else may change or replace while it is read: opened once, checked with `fstat`
/// on that descriptor (a regular file, not larger than the cap), read to at most the cap + 1 bytes. A symlink
/// swapped in after a size check therefore cannot bring a larger file past the cap.
enum BoundedFile {
    /// What a read found.
    enum Outcome {
        /// The file's bytes and modification time (Unix seconds).
        case contents([UInt8], modified: Int64)
        /// No file at the path.
        case missing
        /// Larger than the cap (`size` as reported, or cap + 1 when it grew while being read).
        case tooLarge(size: Int)
    }

    /// Why a file could not be read.
    struct Failure: Error {
        /// What went wrong, for a message.
        var reason: String
    }

    /// Reads `path`.
    /// - Parameters:
    ///   - path: the file.
    ///   - limit: the most bytes accepted.
    ///   - followSymlinks: false to refuse a symlink at `path` (`O_NOFOLLOW`).
    /// - Throws: ``Failure`` when the path cannot be opened or read, or is not a regular file.
    static func read(_ path: String, limit: Int, followSymlinks: Bool) throws(Failure) -> Outcome {
        let flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followSymlinks ? 0 : O_NOFOLLOW)
        let descriptor = open(path, flags)
        guard descriptor >= 0 else {
            if errno == ENOENT { return .missing }
            throw Failure(reason: errno == ELOOP && !followSymlinks ? "is a symbolic link" : Self.errnoText())
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Failure(reason: Self.errnoText()) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw Failure(reason: "is not a regular file") }
        guard Int(info.st_size) <= limit else { return .tooLarge(size: Int(info.st_size)) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var filled = 0
        while filled < bytes.count {
            let count = bytes[filled...].withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(reason: Self.errnoText())
            }
            if count == 0 { break }
            filled += count
            if filled == bytes.count, filled <= limit {
                // The file grew since fstat: read on, one byte past the cap at most.
                bytes += [UInt8](repeating: 0, count: min(limit + 1, filled * 2) - filled)
            }
        }
        guard filled <= limit else { return .tooLarge(size: filled) }
        return .contents(Array(bytes[..<filled]), modified: Int64(info.st_mtim.tv_sec))
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
