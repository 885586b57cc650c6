public import JWKSConfig

/// GETs a URL the way jwksd must: safety rules checked before every hop, redirects followed by us up to
/// `max_redirects` and re-checked against the scheme rule and `allowed_domains`, conditional headers,
/// `Accept`, a `User-Agent` naming jwksd.
public struct HTTPFetcher: Sendable {
    /// The transport that performs each hop.
    public let transport: any HTTPTransport
    /// The `User-Agent` sent with every request.
    public let userAgent: String

    /// Creates a fetcher.
    /// - Parameters:
    ///   - transport: the shared transport.
    ///   - userAgent: e.g. `jwksd/0.1.0`.
    public init(transport: any HTTPTransport, userAgent: String) {
        self.transport = transport
        self.userAgent = userAgent
    }

    /// The statuses that redirect.
    static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]

    /// Fetches a URL, following redirects.
    /// - Parameters:
    ///   - url: the URL to start from.
    ///   - policy: the provider's safety and timeout settings.
    ///   - validators: sent as `If-None-Match` / `If-Modified-Since` when present.
    ///   - accept: the `Accept` header.
    /// - Returns: the final response (any status but a redirect) and the URL it came from.
    /// - Throws: ``FetchFailure`` `.redirect` for a refused hop, or the transport's failure.
    public func get(_ url: HTTPURL, policy: ProviderPolicy, validators: Validators, accept: String)
        async throws(FetchFailure)
        -> (response: HTTPGetResponse, url: HTTPURL)
    {
        var current = url
        var hops = 0
        while true {
            try Self.check(current, policy: policy, hop: hops, origin: url)
            var headers = [HTTPField("Accept", accept), HTTPField("User-Agent", userAgent)]
            if let etag = validators.etag { headers.append(HTTPField("If-None-Match", etag)) }
            if let lastModified = validators.lastModified {
                headers.append(HTTPField("If-Modified-Since", lastModified))
            }
            let request = HTTPGetRequest(
                url: current, headers: headers, timeout: policy.retry.attemptTimeout,
                maxBodyBytes: policy.maxResponseBytes, caFile: policy.caFile)
            let response = try await transport.get(request)
            guard Self.redirectStatuses.contains(response.status) else { return (response, current) }
            guard let location = response.headers["location"] else {
                throw FetchFailure(
                    code: .redirect, message: "GET \(current): HTTP \(response.status) without a Location header",
                    httpStatus: response.status)
            }
            guard hops < policy.maxRedirects else {
                throw FetchFailure(
                    code: .redirect,
                    message:
                        "GET \(url): more than \(policy.maxRedirects) redirects (max_redirects); last to \(location)",
                    httpStatus: response.status)
            }
            do {
                current = try current.resolving(location)
            } catch {
                throw FetchFailure(
                    code: .redirect, message: "GET \(current): redirect to \"\(location)\" refused: \(error)",
                    httpStatus: response.status)
            }
            hops += 1
        }
    }

    /// Applies the scheme and allowlist rules to one hop.
    static func check(_ url: HTTPURL, policy: ProviderPolicy, hop: Int, origin: HTTPURL) throws(FetchFailure) {
        let what = hop == 0 ? "GET \(url)" : "GET \(origin): redirect \(hop) to \(url)"
        if policy.requireHTTPS, !url.isHTTPS {
            throw FetchFailure(code: .redirect, message: "\(what) refused: http:// while require_https is on")
        }
        if !url.isAllowed(by: policy.allowedDomains) {
            throw FetchFailure(
                code: .redirect,
                message:
                    "\(what) refused: host \"\(url.host)\" is not in allowed_domains (\(policy.allowedDomains.joined(separator: ", ")))"
            )
        }
    }
}
