import JWKS
public import JWKSConfig
import NIOConcurrencyHelpers

/// Keys from an OpenID Connect issuer: `<issuer>/.well-known/openid-configuration` names the `jwks_uri`.
///
/// The discovery document is cached with its own freshness (its `Cache-Control`, clamped like keys), counted
/// on the engine's clock from when it was read. It is read again when that expires, and at once when the JWKS URL answers 404 or 410 (the provider moved it).
/// The document's `issuer` must equal the configured one exactly, and its `jwks_uri` obeys the same HTTPS
/// and allowlist rules as any URL.
public final class OIDCDiscoverySource: KeySource {
    /// The `Accept` header for discovery documents.
    static let accept = "application/json"

    private struct Discovered {
        var jwksURI: HTTPURL
        var expiresAt: EngineInstant
    }

    private struct State {
        var discovered: Discovered?
        /// Set when the jwks_uri changed: validators from the old URL mean nothing to the new one.
        var dropValidators = false
    }

    /// The configured issuer.
    public let issuer: HTTPURL
    let policy: ProviderPolicy
    let fetcher: HTTPFetcher
    let clock: any EngineClock
    private let state = NIOLockedValueBox(State())

    /// Creates a source.
    /// - Parameters:
    ///   - issuer: the configured issuer.
    ///   - policy: the provider's fetch rules.
    ///   - fetcher: the shared fetcher.
    ///   - clock: the engine's clock, on which the discovery document expires.
    public init(issuer: HTTPURL, policy: ProviderPolicy, fetcher: HTTPFetcher, clock: any EngineClock) {
        self.issuer = issuer
        self.policy = policy
        self.fetcher = fetcher
        self.clock = clock
    }

    public var summary: String { KeySourceConfig.issuer(issuer).summary { $0 } }

    /// The discovery URL: the issuer without a trailing slash, plus `/.well-known/openid-configuration`.
    public var discoveryURL: HTTPURL {
        var base = issuer.text
        while base.hasSuffix("/") { base.removeLast() }
        return (try? HTTPURL(base + "/.well-known/openid-configuration")) ?? issuer
    }

    public func fetch(validators: Validators) async -> SourceResult {
        let cached = state.withLockedValue { $0.discovered }
        var rediscovered = false
        var jwksURI: HTTPURL
        if let cached, clock.now < cached.expiresAt {
            jwksURI = cached.jwksURI
        } else {
            switch await discover() {
            case .success(let uri):
                jwksURI = uri
                rediscovered = true
            case .failure(let failure):
                // An expired discovery document is still better than none while the issuer is down.
                guard let cached else { return .failed(failure) }
                jwksURI = cached.jwksURI
            }
        }
        let dropValidators = state.withLockedValue { state in
            defer { state.dropValidators = false }
            return state.dropValidators
        }
        let sent = dropValidators ? Validators() : validators
        let result = await JWKSURISource.fetchJWKS(jwksURI, policy: policy, fetcher: fetcher, validators: sent)
        guard case .failed(let failure) = result, [404, 410].contains(failure.httpStatus ?? 0), !rediscovered else {
            return result
        }
        switch await discover() {
        case .success(let uri):
            jwksURI = uri
        case .failure(let discoveryFailure):
            return .failed(discoveryFailure)
        }
        let retryValidators =
            state.withLockedValue { state in
                defer { state.dropValidators = false }
                return state.dropValidators
            } ? Validators() : validators
        return await JWKSURISource.fetchJWKS(jwksURI, policy: policy, fetcher: fetcher, validators: retryValidators)
    }

    /// Reads and checks the discovery document, caching the `jwks_uri` on success.
    private func discover() async -> Result<HTTPURL, FetchFailure> {
        let url = discoveryURL
        let response: HTTPGetResponse
        do {
            response = try await fetcher.get(url, policy: policy, validators: Validators(), accept: Self.accept)
                .response
        } catch {
            return .failure(
                FetchFailure(
                    code: .discovery, message: "discovery: \(error.message)", httpStatus: error.httpStatus,
                    retryAfter: error.retryAfter))
        }
        guard response.status == 200 else {
            return .failure(
                FetchFailure(
                    code: .discovery, message: "discovery: GET \(url): HTTP \(response.status)",
                    httpStatus: response.status, retryAfter: response.retryAfter))
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(response.body)
        } catch {
            return .failure(FetchFailure(code: .discovery, message: "discovery: GET \(url): \(error)"))
        }
        guard let advertised = document[member: "issuer"]?.stringValue else {
            return .failure(FetchFailure(code: .discovery, message: "discovery: GET \(url): no \"issuer\" string"))
        }
        guard advertised == issuer.text else {
            return .failure(
                FetchFailure(
                    code: .discovery,
                    message:
                        "discovery: GET \(url): issuer \"\(advertised)\" does not equal the configured \"\(issuer)\""))
        }
        guard let text = document[member: "jwks_uri"]?.stringValue else {
            return .failure(FetchFailure(code: .discovery, message: "discovery: GET \(url): no \"jwks_uri\" string"))
        }
        let jwksURI: HTTPURL
        do {
            jwksURI = try HTTPURL(text)
            try HTTPFetcher.check(jwksURI, policy: policy, hop: 0, origin: jwksURI)
        } catch let error as FetchFailure {
            return .failure(FetchFailure(code: .discovery, message: "discovery: jwks_uri \(error.message)"))
        } catch {
            return .failure(FetchFailure(code: .discovery, message: "discovery: jwks_uri \"\(text)\": \(error)"))
        }
        let freshness = Freshness.compute(
            headers: response.cacheHeaders, policy: policy, responseTime: response.receivedAt)
        let expiresAt = clock.now.advanced(by: freshness.ttl)
        state.withLockedValue { state in
            if let previous = state.discovered?.jwksURI, previous != jwksURI { state.dropValidators = true }
            state.discovered = Discovered(jwksURI: jwksURI, expiresAt: expiresAt)
        }
        return .success(jwksURI)
    }
}
