import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The socket file's life: a stale file from a dead daemon is replaced, a live one (connect succeeds) is
/// refused, the mode is applied after bind, and the file is removed on shutdown.
enum SocketFile {
    /// Why the socket path cannot be used.
    struct Unusable: Error, CustomStringConvertible {
        var description: String
    }

    /// Makes `path` free for bind.
    /// - Throws: ``Unusable`` when another process listens there or the path is not a socket.
    static func prepare(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw Unusable(description: "\(path) exists and is not a socket; refusing to replace it")
        }
        if isLive(path) {
            throw Unusable(description: "another process is listening on \(path); is jwksd already running?")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw Unusable(description: "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Whether something accepts connections on the socket.
    static func isLive(_ path: String) -> Bool {
        guard let descriptor = try? UnixSocket.connect(path) else { return false }
        close(descriptor)
        return true
    }

    /// Applies the configured mode.
    static func setMode(_ path: String, _ mode: UInt16) throws {
        guard chmod(path, mode_t(mode)) == 0 else {
            throw Unusable(description: "cannot chmod \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Removes the socket file, if it is still a socket.
    static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return }
        unlink(path)
    }
}
