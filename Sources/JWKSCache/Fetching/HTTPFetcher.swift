public import JWKSConfig

/// GETs a URL the way jwksd must: safety rules checked before every hop, redirects followed by us up to
/// `max_redirects` and re-checked against the scheme rule, `allowed_domains` and the addresses the host
/// resolves to, conditional headers, `Accept`, a `User-Agent` naming jwksd.
///
/// The address rule: a host is refused when any address it resolves to is link-local (`169.254.0.0/16`,
/// `fe80::/10`: cloud metadata services), unspecified or multicast, or loopback or private unless the provider
/// sets `allow_private_networks`. The check runs on the resolver's answer just before each hop; the HTTP client
/// resolves the name again to connect, so a name whose answers change between the two (DNS rebinding) is not
/// covered: pin such providers with `allowed_domains` (see README, "Security").
public struct HTTPFetcher: Sendable {
    /// The transport that performs each hop.
    public let transport: any HTTPTransport
    /// The `User-Agent` sent with every request.
    public let userAgent: String
    /// Resolves each hop's host for the address rule.
    public let resolver: any HostResolver

    /// Creates a fetcher.
    /// - Parameters:
    ///   - transport: the shared transport.
    ///   - userAgent: e.g. `jwksd/0.1.0`.
    ///   - resolver: resolves hosts for the address rule (the system's resolver by default).
    public init(transport: any HTTPTransport, userAgent: String, resolver: any HostResolver = SystemHostResolver()) {
        self.transport = transport
        self.userAgent = userAgent
        self.resolver = resolver
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
            try await checkAddresses(current, policy: policy, hop: hops, origin: url)
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

    /// Applies the address rule to one hop: every address its host resolves to must be allowed.
    func checkAddresses(_ url: HTTPURL, policy: ProviderPolicy, hop: Int, origin: HTTPURL) async throws(FetchFailure) {
        let what = hop == 0 ? "GET \(url)" : "GET \(origin): redirect \(hop) to \(url)"
        for address in try await resolver.addresses(of: url.host) {
            switch address.scope {
            case .global:
                continue
            case .loopback, .privateNetwork:
                if policy.allowPrivateNetworks { continue }
                throw FetchFailure(
                    code: .address,
                    message:
                        "\(what) refused: \(url.host) resolves to \(address), a \(address.scope.rawValue) address (set allow_private_networks: true for a provider on this host or network)"
                )
            case .linkLocal, .unspecified, .multicast:
                throw FetchFailure(
                    code: .address,
                    message: "\(what) refused: \(url.host) resolves to \(address), a \(address.scope.rawValue) address")
            }
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
