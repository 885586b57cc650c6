#if canImport(Glibc)
    import Glibc
#endif

/// A blocking connect to a Unix-domain stream socket by path: the one `sockaddr_un` dance for the server's
/// live-socket check, the bench client, the fuzz harness and the tests' raw connections (not the async client,
/// which connects through NIO).
public enum UnixSocket {
    /// Why a connection could not be made.
    public struct Failure: Error, CustomStringConvertible {
        /// What failed, with the path and the system's reason.
        public var description: String
    }

    /// Connects to the socket at `path`.
    /// - Returns: the connected descriptor (blocking); the caller closes it.
    /// - Throws: ``Failure`` when the path is too long for `sockaddr_un`, or socket(2) or connect(2) fails.
    public static func connect(_ path: String) throws(Failure) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket(): \(String(cString: strerror(errno)))") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "cannot connect to \(path): \(reason)")
        }
        return descriptor
    }

    /// Makes reads on `descriptor` give up (EAGAIN) after `timeout` without data.
    public static func setReceiveTimeout(_ descriptor: Int32, _ timeout: Duration) {
        var limit = timeval(
            tv_sec: Int(timeout.components.seconds),
            tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }
}
