import JWKS

/// Why one fetch of a provider's keys failed. A value with context, mapped to a status by the server.
public struct FetchFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// Connection refused, reset, DNS, TLS.
        case transport
        /// The attempt timed out.
        case timeout
        /// A status other than 200 or 304.
        case httpStatus = "http_status"
        /// The body exceeded `max_response_bytes`.
        case bodyTooLarge = "body_too_large"
        /// The body is not a JWK Set.
        case invalidDocument = "invalid_document"
        /// A JWK Set with no usable key.
        case noUsableKeys = "no_usable_keys"
        /// A redirect to a refused scheme or host, or too many redirects.
        case redirect
        /// The discovery document is wrong (bad JSON, wrong issuer, bad jwks_uri).
        case discovery
        /// A 304 answered a request that had no validators: nothing to keep.
        case unexpectedNotModified = "unexpected_not_modified"
        /// A key file could not be read.
        case file
        /// The host resolves to an address the provider may not reach (link-local, unspecified, multicast;
        /// loopback and private ranges unless `allow_private_networks`), or cannot be resolved.
        case address
    }

    /// The kind of failure.
    public var code: Code
    /// What happened, for people (includes the URL or path). Control characters from provider content are
    /// escaped and the text is cut at ``maximumMessageLength`` characters: it goes to log lines and Status.
    public var message: String
    /// The HTTP status, when there was one.
    public var httpStatus: Int?
    /// The server's `Retry-After`, when it sent one.
    public var retryAfter: Duration?

    /// Creates a failure.
    public init(code: Code, message: String, httpStatus: Int? = nil, retryAfter: Duration? = nil) {
        self.code = code
        self.message = Printable.quoted(message, limit: Self.maximumMessageLength)
        self.httpStatus = httpStatus
        self.retryAfter = retryAfter
    }

    public var description: String { message }

    /// The longest message kept, in characters.
    public static let maximumMessageLength = 2_000
}
