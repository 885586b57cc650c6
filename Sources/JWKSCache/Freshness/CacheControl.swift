/// The `Cache-Control` directives that matter to a JWKS cache (RFC 9111 §5.2, RFC 5861).
public struct CacheControl: Sendable, Equatable {
    /// `max-age=N` in seconds.
    public var maxAge: Int64?
    /// `s-maxage=N` in seconds; jwksd is a cache shared by every process on the host, so it wins over max-age.
    public var sharedMaxAge: Int64?
    /// `no-cache`: store, but revalidate before use.
    public var noCache = false
    /// `no-store`: do not keep a copy (jwksd keeps it in memory only, never on disk).
    public var noStore = false
    /// `stale-if-error=N` in seconds: the response may be served this long past expiry when refreshes fail.
    public var staleIfError: Int64?

    /// Directive values above this are treated as this (about 68 years), as RFC 9111 §1.2.2 suggests.
    static let maximumSeconds: Int64 = 2_147_483_648

    /// Parses a header value; several header lines are joined with commas first.
    /// - Parameter header: the `Cache-Control` value, or `nil`.
    /// - Returns: the directives found. Unknown directives and malformed values are ignored, and the
    ///   first of repeated directives is used (RFC 9111 §4.2.1).
    public init(_ header: String?) {
        guard let header else { return }
        for rawDirective in header.split(separator: ",") {
            let directive = rawDirective.trimmingSpaces()
            let parts = directive.split(separator: "=", maxSplits: 1)
            guard let rawName = parts.first else { continue }
            let name = rawName.trimmingSpaces().lowercased()
            let value = parts.count == 2 ? Self.seconds(parts[1]) : nil
            switch name {
            case "max-age": if maxAge == nil { maxAge = value }
            case "s-maxage": if sharedMaxAge == nil { sharedMaxAge = value }
            case "no-cache": noCache = true
            case "no-store": noStore = true
            case "stale-if-error": if staleIfError == nil { staleIfError = value }
            default: continue
            }
        }
    }

    /// A delta-seconds value, optionally quoted; `nil` when it is not a non-negative integer.
    static func seconds(_ raw: Substring) -> Int64? {
        var text = raw.trimmingSpaces()
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = text.dropFirst().dropLast() }
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        guard text.count <= 10, let value = Int64(text) else { return maximumSeconds }
        return min(value, maximumSeconds)
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    func trimmingSpaces() -> Substring {
        var slice = self
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return slice
    }
}
