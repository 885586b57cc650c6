/// One request the dev issuer received, for tests to read.
public struct DevRequestRecord: Sendable, Equatable {
    /// The method.
    public var method: String
    /// The path (with query).
    public var path: String
    /// `If-None-Match`, if sent.
    public var ifNoneMatch: String?
    /// `If-Modified-Since`, if sent.
    public var ifModifiedSince: String?
    /// `User-Agent`, if sent.
    public var userAgent: String?
    /// `Accept`, if sent.
    public var accept: String?
    /// The status answered (0 for a reset).
    public var status: Int
    /// When it arrived.
    public var receivedAt: ContinuousClock.Instant
}
