import JWKS
import JWKSConfig
import JWKSTestSupport
import Testing

@testable import JWKSCache

/// How long a discovery document is kept, on the engine's clock: no wall-clock waits.
@Suite("OIDC discovery expiry")
struct OIDCDiscoverySourceTests {
    static let issuer = "https://login.example.com"
    static let discoveryURL = "https://login.example.com/.well-known/openid-configuration"
    static let jwksURL = "https://keys.example.com/jwks"
    static let keys =
        #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#

    static func discovery(jwksURI: String, maxAge: Int) -> HTTPGetResponse {
        ScriptedTransport.ok(
            #"{"issuer":"\#(issuer)","jwks_uri":"\#(jwksURI)"}"#, headers: ["cache-control": "max-age=\(maxAge)"])
    }

    static func source(_ transport: ScriptedTransport, clock: ManualClock) throws -> OIDCDiscoverySource {
        var policy = ProviderPolicy()
        policy.minTTL = .seconds(60)
        return OIDCDiscoverySource(
            issuer: try HTTPURL(issuer), policy: policy,
            fetcher: HTTPFetcher(transport: transport, userAgent: "jwksd/test", resolver: FixedResolver()),
            clock: clock)
    }

    func discoveries(_ transport: ScriptedTransport) -> Int {
        transport.requests.filter { $0.url.text == Self.discoveryURL }.count
    }

    @Test("the document is read once while fresh, again once its max-age has passed on the engine's clock")
    func expiry() async throws {
        let transport = ScriptedTransport([
            Self.discoveryURL: Self.discovery(jwksURI: Self.jwksURL, maxAge: 600),
            Self.jwksURL: ScriptedTransport.ok(Self.keys),
        ])
        let clock = ManualClock()
        let source = try Self.source(transport, clock: clock)
        for _ in 0..<3 {
            guard case .document = await source.fetch(validators: Validators()) else {
                Issue.record("no document")
                return
            }
        }
        #expect(discoveries(transport) == 1)
        clock.advance(by: .seconds(599))
        _ = await source.fetch(validators: Validators())
        #expect(discoveries(transport) == 1)
        clock.advance(by: .seconds(1))
        _ = await source.fetch(validators: Validators())
        #expect(discoveries(transport) == 2)
        #expect(transport.requests.filter { $0.url.text == Self.jwksURL }.count == 5)
    }

    @Test("an expired document still names the jwks_uri while discovery fails; a new jwks_uri drops validators")
    func expiredAndMoved() async throws {
        let transport = ScriptedTransport([
            Self.discoveryURL: Self.discovery(jwksURI: Self.jwksURL, maxAge: 60),
            Self.jwksURL: ScriptedTransport.ok(Self.keys),
        ])
        let clock = ManualClock()
        let source = try Self.source(transport, clock: clock)
        _ = await source.fetch(validators: Validators())
        clock.advance(by: .seconds(61))
        transport.answer(Self.discoveryURL, with: HTTPGetResponse(status: 503, headers: [:], body: [], receivedAt: 0))
        guard case .document = await source.fetch(validators: Validators()) else {
            Issue.record("the expired discovery document was not used while discovery failed")
            return
        }
        #expect(discoveries(transport) == 2)
        // Discovery back, naming a new URL: the validators of the old one are not sent to it.
        let moved = "https://keys.example.com/v2/jwks"
        transport.answer(Self.discoveryURL, with: Self.discovery(jwksURI: moved, maxAge: 60))
        transport.answer(moved, with: ScriptedTransport.ok(Self.keys))
        _ = await source.fetch(validators: Validators(etag: "\"old\"", lastModified: nil))
        let last = try #require(transport.requests.last)
        #expect(last.url.text == moved)
        #expect(!last.headers.contains { $0.name.lowercased() == "if-none-match" })
    }
}
