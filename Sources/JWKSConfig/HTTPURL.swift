/// An absolute `http`/`https` URL, parsed strictly enough to apply the fetch-safety rules: scheme, host
/// (lowercased), port, and path with query. Credentials and fragments are refused.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    /// Why a URL is refused.
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not `http://` or `https://`.
        case unsupportedScheme(String)
        /// No host after the scheme.
        case missingHost
        /// `user:password@` in the URL.
        case credentials
        /// A `#fragment`.
        case fragment
        /// A port that is not 1...65535.
        case invalidPort(String)
        /// Spaces, control characters or other bytes a URL cannot hold.
        case invalidCharacter
        /// A host name with characters outside letters, digits, `-` and `.`.
        case invalidHost(String)

        public var description: String {
            switch self {
            case .unsupportedScheme(let scheme):
                scheme.isEmpty
                    ? "not an absolute URL (expected https://...)" : "scheme \"\(scheme)\" is not http or https"
            case .missingHost: "the URL has no host"
            case .credentials: "the URL must not contain credentials (user:password@)"
            case .fragment: "the URL must not contain a #fragment"
            case .invalidPort(let port): "port \"\(port)\" is not a number from 1 to 65535"
            case .invalidCharacter: "the URL contains spaces or characters that must be percent-encoded"
            case .invalidHost(let host): "host \"\(host)\" is not a valid host name"
            }
        }
    }

    /// The URL as written.
    public let text: String
    /// `true` for `https`.
    public let isHTTPS: Bool
    /// The host, lowercased; IPv6 literals keep their brackets.
    public let host: String
    /// The explicit port, if any.
    public let port: Int?
    /// The path and query (`/`, when the URL has none).
    public let pathAndQuery: String

    /// Parses a URL.
    /// - Parameter text: the URL.
    /// - Throws: ``ParseError``.
    public init(_ text: String) throws(ParseError) {
        guard !text.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\\") }) else {
            throw .invalidCharacter
        }
        guard let schemeEnd = text.firstRange(of: "://") else { throw .unsupportedScheme("") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw .unsupportedScheme(scheme) }
        let rest = text[schemeEnd.upperBound...]
        if rest.contains("#") { throw .fragment }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if authority.contains("@") { throw .credentials }
        var hostPart = authority
        var port: Int?
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            let portText = authority[authority.index(after: colon)...]
            guard let value = Int(portText), (1...65535).contains(value) else { throw .invalidPort(String(portText)) }
            port = value
            hostPart = authority[..<colon]
        }
        guard !hostPart.isEmpty else { throw .missingHost }
        let host = hostPart.lowercased()
        guard Self.isValidHost(host) else { throw .invalidHost(host) }
        let path = rest[authorityEnd...]
        self.text = text
        self.isHTTPS = scheme == "https"
        self.host = host
        self.port = port
        self.pathAndQuery = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : String(path))
    }

    /// Whether ``host`` equals `domain` or ends in `.` + `domain` (a suffix on a label boundary).
    /// - Parameter domains: the allowlist; an empty list allows every host.
    /// - Returns: `true` when the host is allowed.
    public func isAllowed(by domains: [String]) -> Bool {
        guard !domains.isEmpty else { return true }
        return domains.contains { domain in host == domain || host.hasSuffix("." + domain) }
    }

    /// Resolves a `Location` header against this URL (RFC 3986 §5.2: absolute URLs, `//host/...`, `/path`,
    /// `?query` and relative paths). A reference is absolute only when it starts with a scheme (letters, digits,
    /// `+ - .` before the first `:`, ahead of any `/ ? #`); `://` further in (in a query, say) is data.
    /// - Parameter location: the header value.
    /// - Returns: the target URL.
    /// - Throws: ``ParseError`` when the target is not an acceptable URL.
    public func resolving(_ location: String) throws(ParseError) -> HTTPURL {
        if Self.hasScheme(location) { return try HTTPURL(location) }
        let origin = "\(isHTTPS ? "https" : "http")://\(host)\(port.map { ":\($0)" } ?? "")"
        if location.hasPrefix("//") { return try HTTPURL("\(isHTTPS ? "https" : "http"):\(location)") }
        if location.hasPrefix("/") { return try HTTPURL(origin + location) }
        let basePath = pathAndQuery.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        if location.hasPrefix("?") { return try HTTPURL(origin + basePath + location) }
        let directory =
            basePath.hasSuffix("/")
            ? basePath : String(basePath[..<(basePath.lastIndex(of: "/") ?? basePath.startIndex)]) + "/"
        return try HTTPURL(origin + directory + location)
    }

    /// Whether a URI reference starts with `scheme:` (RFC 3986 §3.1).
    static func hasScheme(_ reference: String) -> Bool {
        guard let colon = reference.utf8.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let scheme = reference.utf8[..<colon]
        guard let first = scheme.first, (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z")
        else { return false }
        return scheme.allSatisfy { byte in
            let lower = byte | 0x20
            return (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
    }

    /// Whether a string is a valid host name or domain for ``isAllowed(by:)``.
    /// - Parameter host: a lowercased host, or an IPv6 literal in brackets.
    /// - Returns: `true` when valid.
    public static func isValidHost(_ host: String) -> Bool {
        if host.hasPrefix("[") {
            return host.hasSuffix("]") && host.count > 2
                && host.dropFirst().dropLast().allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        guard host.utf8.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { byte in
                    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                        || byte == UInt8(ascii: "_")
                }
        }
    }

    public var description: String { text }
}
