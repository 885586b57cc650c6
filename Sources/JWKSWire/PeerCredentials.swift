public import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Who is on the other end of a Unix-socket connection (SO_PEERCRED): the server checks access with it, the
/// bench finds the daemon's process with it.
public struct PeerCredentials: Sendable, Equatable {
    /// The peer's process id.
    public var pid: Int32
    /// The peer's user id.
    public var uid: UInt32
    /// The peer's group id.
    public var gid: UInt32

    /// Creates credentials.
    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// The credentials of the process at the other end of a connected Unix socket (for a client, the
    /// server's: the process that listens), or nil when they cannot be read.
    /// - Parameter descriptor: a connected Unix-domain socket.
    public static func read(descriptor: Int32) -> PeerCredentials? {
        var raw = RawPeerCredentials()
        var size = socklen_t(MemoryLayout<RawPeerCredentials>.size)
        guard getsockopt(descriptor, SOL_SOCKET, Int32(RawPeerCredentials.option), &raw, &size) == 0 else {
            return nil
        }
        return PeerCredentials(pid: raw.pid, uid: raw.uid, gid: raw.gid)
    }
}

/// The layout of Linux's `struct ucred` (pid_t, uid_t, gid_t), read with `getsockopt(SO_PEERCRED)` (the server
/// reads it through NIO's socket options). Glibc's Swift module does not export `ucred` (it needs
/// `_GNU_SOURCE`), so the layout is spelled here.
public struct RawPeerCredentials: Sendable {
    /// The peer's process id.
    public var pid: Int32 = 0
    /// The peer's user id.
    public var uid: UInt32 = 0
    /// The peer's group id.
    public var gid: UInt32 = 0

    /// Zeroes, to be filled by getsockopt.
    public init() {}

    /// `SO_PEERCRED` on Linux.
    public static let option: SocketOptionName = 17
}
