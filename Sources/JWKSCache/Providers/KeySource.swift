/// Where a provider's keys come from. A new kind of source (say, a cloud secret store) is one type that
/// conforms to this, plus its case in `KeySourceConfig` and ``KeySourceFactory``.
public protocol KeySource: Sendable {
    /// A short description for logs and status (`jwks_uri https://...`).
    var summary: String { get }

    /// Fetches the current key set document.
    /// - Parameter validators: from the last good response; send them so an unchanged set costs a 304.
    /// - Returns: a new document, "not modified", or why the fetch failed.
    func fetch(validators: Validators) async -> SourceResult
}

/// The outcome of one ``KeySource`` fetch.
public enum SourceResult: Sendable, Equatable {
    /// A new document with its response headers and wall-clock response time.
    case document([UInt8], headers: CacheHeaders, responseTime: Int64)
    /// The cached document is still current; these headers renew its freshness.
    case notModified(headers: CacheHeaders, responseTime: Int64)
    /// The fetch failed.
    case failed(FetchFailure)
}
