import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Turns a host name into the addresses a connection to it may use, so the fetcher can check them before it
/// connects (``HTTPFetcher``). Tests inject a fixed table.
public protocol HostResolver: Sendable {
    /// The addresses of `host` (a name, or an IP literal returned as is).
    /// - Throws: ``FetchFailure`` `.address` when the name does not resolve.
    func addresses(of host: String) async throws(FetchFailure) -> [NetworkAddress]
}

/// The system resolver (`getaddrinfo`, run off the calling thread: it blocks).
public struct SystemHostResolver: HostResolver {
    /// Creates the resolver.
    public init() {}

    public func addresses(of host: String) async throws(FetchFailure) -> [NetworkAddress] {
        if let literal = NetworkAddress(literal: host) { return [literal] }
        let result: Result<[NetworkAddress], FetchFailure> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Self.lookUp(host))
            }
        }
        return try result.get()
    }

    private static func lookUp(_ host: String) -> Result<[NetworkAddress], FetchFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            let reason = String(cString: gai_strerror(status))
            return .failure(FetchFailure(code: .address, message: "host \"\(host)\" does not resolve (\(reason))"))
        }
        defer { freeaddrinfo(first) }
        var addresses: [NetworkAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let socketAddress = entry.pointee.ai_addr {
                switch Int32(socketAddress.pointee.sa_family) {
                case AF_INET:
                    socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        var raw = pointer.pointee.sin_addr
                        let bytes = withUnsafeBytes(of: &raw) { Array($0) }
                        if let address = NetworkAddress(bytes: bytes) { addresses.append(address) }
                    }
                case AF_INET6:
                    socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        var raw = pointer.pointee.sin6_addr
                        let bytes = withUnsafeBytes(of: &raw) { Array($0) }
                        if let address = NetworkAddress(bytes: bytes) { addresses.append(address) }
                    }
                default:
                    break
                }
            }
            cursor = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else {
            return .failure(FetchFailure(code: .address, message: "host \"\(host)\" has no IPv4 or IPv6 address"))
        }
        return .success(addresses)
    }
}
