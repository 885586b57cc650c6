import NIOCore

/// Who is on the other end of a connection (SO_PEERCRED).
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
}

/// The layout of Linux's `struct ucred` (pid_t, uid_t, gid_t), read with `getsockopt(SO_PEERCRED)`.
/// Glibc's Swift module does not export `ucred` (it needs `_GNU_SOURCE`), so the layout is spelled here.
struct RawPeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0

    /// `SO_PEERCRED` on Linux.
    static let option: SocketOptionName = 17
}
