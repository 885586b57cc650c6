import Foundation
import JWKSWire

#if canImport(Glibc)
    import Glibc
#endif

/// The socket file's life: a stale file from a dead daemon is replaced, a live one (connect succeeds) is
/// refused, the socket is bound in a private directory and given its mode before it appears at its path, and
/// the file is removed on shutdown.
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

    /// A private directory (mode 0700, next to `path`, so a rename moves the socket) to bind in: the socket is
    /// reachable by nobody else until it has its mode and is renamed to `path`, whatever the umask.
    /// - Returns: the directory and the path to bind.
    /// - Throws: ``Unusable`` when the directory cannot be made or the bind path would be too long.
    static func privateBindPath(for path: String) throws -> (directory: String, path: String) {
        let parent = (path as NSString).deletingLastPathComponent
        var template = Array(((parent.isEmpty ? "." : parent) + "/.jwksd-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            throw Unusable(
                description: "cannot create a private directory next to \(path): \(String(cString: strerror(errno)))")
        }
        let directory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let bindPath = directory + "/s"
        guard bindPath.utf8.count < Self.maximumPathBytes else {
            rmdir(directory)
            throw Unusable(
                description:
                    "\(path): the socket's directory path is too long to bind in a private directory beside it (\(bindPath.utf8.count) of \(Self.maximumPathBytes - 1) bytes); use a shorter path"
            )
        }
        return (directory, bindPath)
    }

    /// The size of `sun_path`, including its terminating NUL.
    static let maximumPathBytes = 108

    /// Moves the bound socket from the private directory to its path (atomically replacing anything there) and
    /// removes the directory.
    static func publish(_ bound: (directory: String, path: String), at path: String) throws {
        defer { rmdir(bound.directory) }
        guard rename(bound.path, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(bound.path)
            throw Unusable(description: "cannot move the socket to \(path): \(reason)")
        }
    }

    /// Removes the private directory after a failed bind.
    static func discard(_ bound: (directory: String, path: String)) {
        unlink(bound.path)
        rmdir(bound.directory)
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
