import JWKSConfig

/// A request to the HTTP JWKS endpoint, parsed from its target: `/v1/jwks/{tenant}` or
/// `/v1/jwks/{tenant}/{provider}`, with an optional `kid` (percent-encoded) and `timeout` (milliseconds) in the
/// query; other query parameters are ignored (cache busters). Ids follow the socket protocol's grammar.
struct JWKSHTTPRequest: Equatable, Sendable {
    /// Why a target is refused: 404 (no such document) or 400 (a query that cannot be read).
    enum Refusal: Error, Equatable {
        case notFound(String)
        case badRequest(String)
    }

    var tenant: String
    /// nil: the tenant's providers merged.
    var provider: String?
    /// `?kid=`: a kid the caller needs; when the set lacks it, the kid-miss rule runs before answering.
    var kid: String?
    /// `?timeout=` in milliseconds: how long a kid miss may wait.
    var timeout: Duration?

    /// The longest `?timeout=` (the config's `kid_wait` bound).
    static let maximumTimeoutMilliseconds = Int(HTTPEndpointConfig.maximumKidWait.components.seconds * 1_000)

    /// The path every document is under.
    static let prefix = "/v1/jwks/"

    /// Parses a request target (one pass over its bytes; the query only when there is one).
    static func parse(target: String) throws(Refusal) -> JWKSHTTPRequest {
        let bytes = target.utf8
        guard bytes.starts(with: prefix.utf8) else {
            throw .notFound("no such document: the endpoint serves /v1/jwks/{tenant} and /v1/jwks/{tenant}/{provider}")
        }
        let rest = bytes[bytes.index(bytes.startIndex, offsetBy: prefix.utf8.count)...]
        let queryStart = rest.firstIndex(of: UInt8(ascii: "?"))
        let path = rest[..<(queryStart ?? rest.endIndex)]
        let slash = path.firstIndex(of: UInt8(ascii: "/"))
        let tenant = String(Substring(path[..<(slash ?? path.endIndex)]))
        guard RegistryID.isValid(tenant) else {
            throw .notFound("no such tenant: ids are 1-64 characters from A-Z a-z 0-9 . _ -")
        }
        var request = JWKSHTTPRequest(tenant: tenant)
        if let slash {
            let provider = String(Substring(path[path.index(after: slash)...]))
            guard RegistryID.isValid(provider) else {
                throw .notFound(
                    provider.contains("/")
                        ? "no such document: the endpoint serves /v1/jwks/{tenant} and /v1/jwks/{tenant}/{provider}"
                        : "no such provider: ids are 1-64 characters from A-Z a-z 0-9 . _ -")
            }
            request.provider = provider
        }
        if let queryStart {
            try request.readQuery(Substring(rest[rest.index(after: queryStart)...]))
        }
        return request
    }

    /// Reads `kid` and `timeout` from a query; other parameters are ignored.
    private mutating func readQuery(_ query: Substring) throws(Refusal) {
        for pair in query.split(separator: "&") {
            let field = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = field.count == 2 ? field[1] : ""
            switch field[0] {
            case "kid":
                guard let kid = Self.percentDecoded(value), !kid.isEmpty,
                    kid.utf8.count <= RequestGrammar.maximumKidBytes
                else {
                    throw .badRequest("kid must be 1-\(RequestGrammar.maximumKidBytes) bytes of percent-encoded UTF-8")
                }
                self.kid = kid
            case "timeout":
                guard let milliseconds = Int(value), milliseconds >= 0,
                    milliseconds <= Self.maximumTimeoutMilliseconds
                else {
                    throw .badRequest("timeout is milliseconds from 0 to \(Self.maximumTimeoutMilliseconds)")
                }
                self.timeout = .milliseconds(milliseconds)
            default:
                continue
            }
        }
    }

    init(tenant: String, provider: String? = nil, kid: String? = nil, timeout: Duration? = nil) {
        self.tenant = tenant
        self.provider = provider
        self.kid = kid
        self.timeout = timeout
    }

    /// `%XX` and `+` decoded, or nil when an escape is malformed or the bytes are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
