/// The response headers that decide freshness and revalidation, as received.
public struct CacheHeaders: Sendable, Equatable {
    /// `Cache-Control` (several lines joined with `, `).
    public var cacheControl: String?
    /// `Expires`.
    public var expires: String?
    /// `Date`.
    public var date: String?
    /// `Age`.
    public var age: String?
    /// `ETag`.
    public var etag: String?
    /// `Last-Modified`.
    public var lastModified: String?

    /// Creates headers.
    public init(
        cacheControl: String? = nil, expires: String? = nil, date: String? = nil, age: String? = nil,
        etag: String? = nil, lastModified: String? = nil
    ) {
        self.cacheControl = cacheControl
        self.expires = expires
        self.date = date
        self.age = age
        self.etag = etag
        self.lastModified = lastModified
    }

    /// The stored headers updated by a `304 Not Modified` (RFC 9111 §4.3.4): fields the 304 carries replace
    /// the stored ones; the rest are kept. `Age` and `Date` always come from the 304 (they describe it).
    /// - Parameter response: the 304's headers.
    /// - Returns: the headers to store and compute freshness from.
    public func updated(by response: CacheHeaders) -> CacheHeaders {
        CacheHeaders(
            cacheControl: response.cacheControl ?? cacheControl,
            expires: response.expires ?? expires,
            date: response.date,
            age: response.age,
            etag: response.etag ?? etag,
            lastModified: response.lastModified ?? lastModified)
    }

    /// The validators for the next conditional request.
    public var validators: Validators { Validators(etag: etag, lastModified: lastModified) }
}

/// What a conditional request sends: `If-None-Match` from the ETag, `If-Modified-Since` from Last-Modified.
public struct Validators: Sendable, Equatable {
    /// The entity tag, sent as `If-None-Match`.
    public var etag: String?
    /// The last-modified date, sent as `If-Modified-Since`.
    public var lastModified: String?

    /// Creates validators.
    public init(etag: String? = nil, lastModified: String? = nil) {
        self.etag = etag
        self.lastModified = lastModified
    }

    /// Whether a conditional request is possible.
    public var isEmpty: Bool { etag == nil && lastModified == nil }
}
