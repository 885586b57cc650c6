public import JWKSConfig

/// Keys from a JWKS URL.
public struct JWKSURISource: KeySource {
    /// The `Accept` header for JWK Sets (RFC 7517 §8.5).
    static let accept = "application/jwk-set+json, application/json"

    /// The configured URL.
    public let url: HTTPURL
    let policy: ProviderPolicy
    let fetcher: HTTPFetcher

    /// Creates a source.
    public init(url: HTTPURL, policy: ProviderPolicy, fetcher: HTTPFetcher) {
        self.url = url
        self.policy = policy
        self.fetcher = fetcher
    }

    public var summary: String { KeySourceConfig.jwksURI(url).summary { $0 } }

    public func fetch(validators: Validators) async -> SourceResult {
        await Self.fetchJWKS(url, policy: policy, fetcher: fetcher, validators: validators)
    }

    /// GETs a JWKS URL and maps the status: 200 → document, 304 → not modified, else a failure.
    static func fetchJWKS(_ url: HTTPURL, policy: ProviderPolicy, fetcher: HTTPFetcher, validators: Validators) async
        -> SourceResult
    {
        do {
            let (response, finalURL) = try await fetcher.get(
                url, policy: policy, validators: validators, accept: accept)
            switch response.status {
            case 200:
                return .document(response.body, headers: response.cacheHeaders, responseTime: response.receivedAt)
            case 304:
                return .notModified(headers: response.cacheHeaders, responseTime: response.receivedAt)
            default:
                return .failed(
                    FetchFailure(
                        code: .httpStatus, message: "GET \(finalURL): HTTP \(response.status)",
                        httpStatus: response.status, retryAfter: response.retryAfter))
            }
        } catch {
            return .failed(error)
        }
    }
}
