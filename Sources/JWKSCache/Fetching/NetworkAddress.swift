/// An IP address a host name resolved to, and which part of the address space it is in: the rule that keeps a
/// provider (or a redirect it sends) from making the daemon reach the cloud metadata service, the host itself or
/// the private network.
public struct NetworkAddress: Sendable, Hashable, CustomStringConvertible {
    /// Where an address points.
    public enum Scope: String, Sendable {
        /// A public address: allowed.
        case global
        /// `127.0.0.0/8`, `::1`: allowed only with `allow_private_networks`.
        case loopback
        /// RFC 1918, shared address space (`100.64.0.0/10`), IPv6 unique local (`fc00::/7`): allowed only with
        /// `allow_private_networks`.
        case privateNetwork = "private"
        /// `169.254.0.0/16`, `fe80::/10` (where cloud metadata services answer): always refused.
        case linkLocal = "link-local"
        /// `0.0.0.0/8`, `::` (reaches the host itself on Linux): always refused.
        case unspecified
        /// Multicast and broadcast: always refused.
        case multicast
    }

    /// The address bytes: 4 for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    /// Creates an address from 4 or 16 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses a numeric IPv4 or IPv6 address (an IPv6 literal may keep its brackets).
    public init?(literal: String) {
        var text = Substring(literal)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let v4 = Self.parseIPv4(text) {
            bytes = v4
        } else if let v6 = Self.parseIPv6(text) {
            bytes = v6
        } else {
            return nil
        }
    }

    /// The scope of this address (IPv4-mapped and IPv4-compatible IPv6 addresses are judged as IPv4).
    public var scope: Scope {
        if bytes.count == 4 { return Self.scope(ipv4: bytes) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return Self.scope(ipv4: Array(bytes[12...]))
        }
        if bytes.allSatisfy({ $0 == 0 }) { return .unspecified }
        if bytes[0..<15].allSatisfy({ $0 == 0 }), bytes[15] == 1 { return .loopback }
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return Self.scope(ipv4: Array(bytes[12...])) }
        if bytes[0] == 0xFE, bytes[1] & 0xC0 == 0x80 { return .linkLocal }
        if bytes[0] & 0xFE == 0xFC { return .privateNetwork }
        if bytes[0] == 0xFF { return .multicast }
        // NAT64 (64:ff9b::/96) carries an IPv4 address.
        if bytes[0] == 0x00, bytes[1] == 0x64, bytes[2] == 0xFF, bytes[3] == 0x9B,
            bytes[4..<12].allSatisfy({ $0 == 0 })
        {
            return Self.scope(ipv4: Array(bytes[12...]))
        }
        return .global
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        return groups.joined(separator: ":")
    }

    private static func scope(ipv4 bytes: [UInt8]) -> Scope {
        switch (bytes[0], bytes[1]) {
        case (0, _): return .unspecified
        case (127, _): return .loopback
        case (10, _): return .privateNetwork
        case (172, 16...31): return .privateNetwork
        case (192, 168): return .privateNetwork
        case (100, 64...127): return .privateNetwork
        case (169, 254): return .linkLocal
        case (224...239, _): return .multicast
        case (255, 255) where bytes[2] == 255 && bytes[3] == 255: return .multicast
        default: return .global
        }
    }

    private static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part) else {
                return nil
            }
            bytes.append(value)
        }
        return bytes
    }

    private static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.contains(":"), text.utf8.count <= 45 else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var embedded: [UInt8]?
        var halves: [String] = [String(text)]
        if let gap = text.firstRange(of: "::") {
            halves = [String(text[..<gap.lowerBound]), String(text[gap.upperBound...])]
            guard !halves[1].contains("::") else { return nil }
        }
        func groups(_ part: String, allowV4: Bool) -> [UInt16]? {
            guard !part.isEmpty else { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowV4, index == pieces.count - 1, piece.contains("."), let v4 = parseIPv4(piece) {
                    embedded = v4
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        if halves.count == 2 {
            guard let first = groups(halves[0], allowV4: false), let second = groups(halves[1], allowV4: true) else {
                return nil
            }
            head = first
            tail = second
        } else {
            guard let all = groups(halves[0], allowV4: true) else { return nil }
            head = all
        }
        let used = head.count + tail.count + (embedded == nil ? 0 : 2)
        guard halves.count == 2 ? used < 8 : used == 8 else { return nil }
        let middle = [UInt16](repeating: 0, count: 8 - used)
        var bytes: [UInt8] = []
        for group in head + middle + tail { bytes += [UInt8(group >> 8), UInt8(group & 0xFF)] }
        if let embedded { bytes += embedded }
        return bytes
    }
}
