import JWKS
public import JWKSConfig

/// One GET the engine asks a transport to perform (redirects are not followed by the transport).
public struct HTTPGetRequest: Sendable, Equatable {
    /// The URL.
    public var url: HTTPURL
    /// Request headers as name/value pairs.
    public var headers: [HTTPField]
    /// The whole attempt (connect, request, body) must finish within this.
    public var timeout: Duration
    /// A body longer than this is refused while streaming; the rest is never read.
    public var maxBodyBytes: Int
    /// A PEM file of extra trusted CAs for this request.
    public var caFile: String?

    /// Creates a request.
    public init(url: HTTPURL, headers: [HTTPField], timeout: Duration, maxBodyBytes: Int, caFile: String? = nil) {
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
        self.caFile = caFile
    }
}

/// One header field.
public struct HTTPField: Sendable, Equatable {
    /// The field name.
    public var name: String
    /// The field value.
    public var value: String

    /// Creates a field.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What a transport returns for a GET.
public struct HTTPGetResponse: Sendable, Equatable {
    /// The status code.
    public var status: Int
    /// Header values by lowercased name; repeated fields are joined with `, `.
    public var headers: [String: String]
    /// The body (at most the request's `maxBodyBytes`).
    public var body: [UInt8]
    /// Wall-clock Unix time when the response head arrived, read once here at the HTTP edge.
    public var receivedAt: Int64

    /// Creates a response.
    public init(status: Int, headers: [String: String], body: [UInt8], receivedAt: Int64) {
        self.status = status
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
    }

    /// The freshness and validator headers of this response.
    public var cacheHeaders: CacheHeaders {
        CacheHeaders(
            cacheControl: headers["cache-control"], expires: headers["expires"], date: headers["date"],
            age: headers["age"], etag: headers["etag"], lastModified: headers["last-modified"])
    }

    /// `Retry-After` as a delay: delta-seconds, or an HTTP date relative to the response time.
    public var retryAfter: Duration? {
        guard let value = headers["retry-after"] else { return nil }
        if let seconds = CacheControl.seconds(Substring(value)) { return .seconds(seconds) }
        if let date = HTTPDate.parse(value) { return .seconds(max(0, date - receivedAt)) }
        return nil
    }
}

/// Performs single GETs. The production transport is ``AsyncHTTPClientTransport``; tests may script one.
public protocol HTTPTransport: Sendable {
    /// Performs one GET without following redirects.
    /// - Parameter request: the request.
    /// - Returns: the response with its body read up to the cap.
    /// - Throws: ``FetchFailure`` with `.transport`, `.timeout` or `.bodyTooLarge`.
    func get(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse
}
