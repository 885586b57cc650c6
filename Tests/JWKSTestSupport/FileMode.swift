#if canImport(Glibc)
    import Glibc
#endif

/// What `stat(2)` (or `lstat(2)` with `followingLinks: false`) says of a path, for tests that check modes. One
/// place that reads `struct stat`: a test file that also imports Foundation may see that type through
/// CoreFoundation instead of Glibc, depending on how the compiler batches files.
public struct FileMode: Sendable, Equatable {
    /// The file type bits (`S_IFMT` of `st_mode`).
    public var type: UInt32
    /// The permission bits (`0o777` of `st_mode`).
    public var permissions: UInt32

    /// Whether it is a regular file.
    public var isRegularFile: Bool { type == UInt32(S_IFREG) }

    /// Reads the mode of `path`; nil when it does not exist or cannot be read.
    /// - Parameters:
    ///   - path: the path.
    ///   - followingLinks: false to describe a symbolic link itself.
    public init?(_ path: String, followingLinks: Bool = true) {
        var info = stat()
        guard (followingLinks ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
        type = UInt32(info.st_mode) & UInt32(S_IFMT)
        permissions = UInt32(info.st_mode) & 0o777
    }
}
