import JWKS
import JWKSConfig
import NIOConcurrencyHelpers
import Testing

@testable import JWKSCache

/// A transport that answers from a script and records what it was asked.
final class ScriptedTransport: HTTPTransport {
    private let responses: NIOLockedValueBox<[String: HTTPGetResponse]>
    private let seen = NIOLockedValueBox<[HTTPGetRequest]>([])

    init(_ responses: [String: HTTPGetResponse]) {
        self.responses = NIOLockedValueBox(responses)
    }

    var requests: [HTTPGetRequest] { seen.withLockedValue { $0 } }

    /// Changes (or, with nil, removes) the answer for `url`.
    func answer(_ url: String, with response: HTTPGetResponse?) {
        responses.withLockedValue { $0[url] = response }
    }

    func get(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse {
        seen.withLockedValue { $0.append(request) }
        guard let response = responses.withLockedValue({ $0[request.url.text] }) else {
            throw FetchFailure(code: .transport, message: "no route to \(request.url)")
        }
        return response
    }

    static func redirect(_ location: String, status: Int = 302) -> HTTPGetResponse {
        HTTPGetResponse(status: status, headers: ["location": location], body: [], receivedAt: wallNow)
    }

    static func ok(_ body: String, headers: [String: String] = [:]) -> HTTPGetResponse {
        HTTPGetResponse(status: 200, headers: headers, body: Array(body.utf8), receivedAt: wallNow)
    }
}

/// A resolver with fixed answers: every name is a public address unless the table says otherwise.
struct FixedResolver: HostResolver {
    var table: [String: [String]] = [:]

    func addresses(of host: String) async throws(FetchFailure) -> [NetworkAddress] {
        if let literal = NetworkAddress(literal: host) { return [literal] }
        return (table[host] ?? ["93.184.215.14"]).compactMap { NetworkAddress(literal: $0) }
    }
}

@Suite("HTTPFetcher redirect and safety rules")
struct HTTPFetcherTests {
    let policy = ProviderPolicy()

    func fetch(_ transport: ScriptedTransport, _ url: String, policy: ProviderPolicy? = nil) async throws(FetchFailure)
        -> (response: HTTPGetResponse, url: HTTPURL)
    {
        let fetcher = HTTPFetcher(transport: transport, userAgent: "jwksd/test", resolver: FixedResolver())
        return try await fetcher.get(
            try! HTTPURL(url), policy: policy ?? self.policy, validators: Validators(etag: "\"e\"", lastModified: "lm"),
            accept: "application/json")
    }

    @Test("an https redirect is followed with the same conditional headers")
    func followsHTTPS() async throws {
        let transport = ScriptedTransport([
            "https://idp.example.com/jwks": ScriptedTransport.redirect("/v2/jwks", status: 301),
            "https://idp.example.com/v2/jwks": ScriptedTransport.ok("{}"),
        ])
        let (response, url) = try await fetch(transport, "https://idp.example.com/jwks")
        #expect(response.status == 200)
        #expect(url.text == "https://idp.example.com/v2/jwks")
        let last = try #require(transport.requests.last)
        #expect(last.headers.contains(HTTPField("If-None-Match", "\"e\"")))
        #expect(last.headers.contains(HTTPField("If-Modified-Since", "lm")))
        #expect(last.headers.contains(HTTPField("User-Agent", "jwksd/test")))
        #expect(last.timeout == .seconds(5))
        #expect(last.maxBodyBytes == 1_048_576)
    }

    @Test("a redirect to http is refused while require_https is on")
    func refusesHTTP() async {
        let transport = ScriptedTransport([
            "https://idp.example.com/jwks": ScriptedTransport.redirect("http://idp.example.com/jwks")
        ])
        await #expect {
            _ = try await fetch(transport, "https://idp.example.com/jwks")
        } throws: { error in
            guard let failure = error as? FetchFailure else { return false }
            return failure.code == .redirect
                && failure.message
                    == "GET https://idp.example.com/jwks: redirect 1 to http://idp.example.com/jwks refused: http:// while require_https is on"
        }
        #expect(transport.requests.count == 1)
    }

    @Test("a redirect to another host outside allowed_domains is refused; inside it is followed")
    func allowlist() async throws {
        var policy = self.policy
        policy.allowedDomains = ["example.com"]
        let transport = ScriptedTransport([
            "https://idp.example.com/a": ScriptedTransport.redirect("https://cdn.example.com/a"),
            "https://cdn.example.com/a": ScriptedTransport.ok("{}"),
            "https://idp.example.com/b": ScriptedTransport.redirect("https://evil.example.net/b"),
        ])
        let (_, url) = try await fetch(transport, "https://idp.example.com/a", policy: policy)
        #expect(url.host == "cdn.example.com")
        await #expect(throws: FetchFailure.self) {
            _ = try await fetch(transport, "https://idp.example.com/b", policy: policy)
        }
        #expect(!transport.requests.contains { $0.url.host == "evil.example.net" })
    }

    @Test("a redirect without Location, or with an unusable one, is a failure")
    func badLocations() async {
        let transport = ScriptedTransport([
            "https://idp.example.com/none": HTTPGetResponse(status: 307, headers: [:], body: [], receivedAt: wallNow),
            "https://idp.example.com/ftp": ScriptedTransport.redirect("ftp://idp.example.com/x"),
        ])
        for path in ["none", "ftp"] {
            await #expect {
                _ = try await fetch(transport, "https://idp.example.com/\(path)")
            } throws: { error in
                (error as? FetchFailure)?.code == .redirect
            }
        }
    }

    @Test("Retry-After is read as seconds or as a date")
    func retryAfter() {
        let seconds = HTTPGetResponse(status: 429, headers: ["retry-after": "120"], body: [], receivedAt: wallNow)
        #expect(seconds.retryAfter == .seconds(120))
        let date = HTTPGetResponse(
            status: 503, headers: ["retry-after": HTTPDate.format(wallNow + 90)], body: [], receivedAt: wallNow)
        #expect(date.retryAfter == .seconds(90))
        let junk = HTTPGetResponse(status: 503, headers: ["retry-after": "soon"], body: [], receivedAt: wallNow)
        #expect(junk.retryAfter == nil)
    }

    @Test("the JWKS source maps statuses: 200 document, 304 not modified, others failures with Retry-After")
    func statusMapping() async throws {
        let transport = ScriptedTransport([
            "https://a.example.com/jwks": ScriptedTransport.ok(
                "{\"keys\":[]}", headers: ["etag": "\"1\"", "cache-control": "max-age=60"]),
            "https://b.example.com/jwks": HTTPGetResponse(
                status: 304, headers: ["etag": "\"1\""], body: [], receivedAt: wallNow),
            "https://c.example.com/jwks": HTTPGetResponse(
                status: 503, headers: ["retry-after": "7"], body: [], receivedAt: wallNow),
        ])
        let fetcher = HTTPFetcher(transport: transport, userAgent: "jwksd/test", resolver: FixedResolver())
        func source(_ host: String) -> JWKSURISource {
            JWKSURISource(url: try! HTTPURL("https://\(host)/jwks"), policy: policy, fetcher: fetcher)
        }
        #expect(
            await source("a.example.com").fetch(validators: Validators())
                == .document(
                    Array("{\"keys\":[]}".utf8), headers: CacheHeaders(cacheControl: "max-age=60", etag: "\"1\""),
                    responseTime: wallNow))
        #expect(
            await source("b.example.com").fetch(validators: Validators())
                == .notModified(headers: CacheHeaders(etag: "\"1\""), responseTime: wallNow))
        #expect(
            await source("c.example.com").fetch(validators: Validators())
                == .failed(
                    FetchFailure(
                        code: .httpStatus, message: "GET https://c.example.com/jwks: HTTP 503", httpStatus: 503,
                        retryAfter: .seconds(7))))
    }

    func fetch(
        _ transport: ScriptedTransport, _ url: String, policy: ProviderPolicy, resolver: FixedResolver
    ) async throws(FetchFailure) -> (response: HTTPGetResponse, url: HTTPURL) {
        let fetcher = HTTPFetcher(transport: transport, userAgent: "jwksd/test", resolver: resolver)
        return try await fetcher.get(try! HTTPURL(url), policy: policy, validators: Validators(), accept: "*/*")
    }

    @Test("a redirect to the cloud metadata address is refused, even with require_https off and private networks on")
    func metadataRedirect() async {
        var policy = ProviderPolicy()
        policy.requireHTTPS = false
        policy.allowPrivateNetworks = true
        for target in [
            "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://0.0.0.0:8080/",
            "http://[::ffff:169.254.169.254]/", "http://metadata.example.com/", "http://224.0.0.1/",
        ] {
            let transport = ScriptedTransport(["http://idp.example.com/jwks": ScriptedTransport.redirect(target)])
            let resolver = FixedResolver(table: ["metadata.example.com": ["169.254.169.254"]])
            await #expect {
                _ = try await fetch(transport, "http://idp.example.com/jwks", policy: policy, resolver: resolver)
            } throws: { error in
                (error as? FetchFailure)?.code == .address
            }
            #expect(transport.requests.map(\.url.text) == ["http://idp.example.com/jwks"], "\(target)")
        }
    }

    @Test("loopback and private addresses need allow_private_networks; one bad address of several is enough to refuse")
    func privateAddresses() async throws {
        let transport = ScriptedTransport([
            "https://internal.example.com/jwks": ScriptedTransport.ok("{}"),
            "https://mixed.example.com/jwks": ScriptedTransport.ok("{}"),
        ])
        let resolver = FixedResolver(table: [
            "internal.example.com": ["10.1.2.3"], "mixed.example.com": ["93.184.215.14", "127.0.0.1"],
        ])
        var policy = ProviderPolicy()
        for url in ["https://internal.example.com/jwks", "https://mixed.example.com/jwks", "https://127.0.0.1/jwks"] {
            await #expect {
                _ = try await fetch(transport, url, policy: policy, resolver: resolver)
            } throws: { error in
                (error as? FetchFailure)?.code == .address
            }
        }
        #expect(transport.requests.isEmpty)
        policy.allowPrivateNetworks = true
        let (response, _) = try await fetch(
            transport, "https://internal.example.com/jwks", policy: policy, resolver: resolver)
        #expect(response.status == 200)
    }

    @Test("a relative Location with :// in its query stays on the same origin")
    func relativeLocationWithSchemeInQuery() async throws {
        let transport = ScriptedTransport([
            "https://idp.example.com/jwks": ScriptedTransport.redirect("/v2/jwks?next=https://other.example.com/"),
            "https://idp.example.com/v2/jwks?next=https://other.example.com/": ScriptedTransport.ok("{}"),
        ])
        let (response, url) = try await fetch(transport, "https://idp.example.com/jwks")
        #expect(response.status == 200)
        #expect(url.host == "idp.example.com")
        let base = try HTTPURL("https://idp.example.com/a/jwks?x=1")
        #expect(
            try base.resolving("keys?u=http://x.example.com").text
                == "https://idp.example.com/a/keys?u=http://x.example.com")
        #expect(try base.resolving("?v=2").text == "https://idp.example.com/a/jwks?v=2")
        #expect(try base.resolving("HTTPS://Other.example.com/k").host == "other.example.com")
        #expect(throws: HTTPURL.ParseError.self) { _ = try base.resolving("ftp://x.example.com/k") }
    }
}

@Suite("Network address scopes")
struct NetworkAddressTests {
    @Test(
        "addresses are classed by scope",
        arguments: [
            ("93.184.215.14", NetworkAddress.Scope.global), ("8.8.8.8", .global), ("2606:4700::1111", .global),
            ("127.0.0.1", .loopback), ("127.255.0.9", .loopback), ("::1", .loopback),
            ("10.0.0.1", .privateNetwork), ("172.16.5.4", .privateNetwork), ("172.31.255.255", .privateNetwork),
            ("172.32.0.1", .global), ("192.168.1.1", .privateNetwork), ("100.64.0.1", .privateNetwork),
            ("fd00::1", .privateNetwork), ("169.254.169.254", .linkLocal), ("fe80::1", .linkLocal),
            ("[fe80::abcd]", .linkLocal), ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified), ("::", .unspecified),
            ("::ffff:169.254.169.254", .linkLocal), ("::ffff:127.0.0.1", .loopback), ("::ffff:8.8.8.8", .global),
            ("64:ff9b::a9fe:a9fe", .linkLocal), ("224.0.0.251", .multicast), ("ff02::1", .multicast),
            ("255.255.255.255", .multicast),
        ])
    func scopes(_ literal: String, _ scope: NetworkAddress.Scope) throws {
        let address = try #require(NetworkAddress(literal: literal))
        #expect(address.scope == scope, "\(literal)")
    }

    @Test(
        "malformed literals are not addresses", arguments: ["1.2.3", "1.2.3.256", "::1::2", "1:2:3:4:5:6:7:8:9", "x"])
    func malformed(_ literal: String) {
        #expect(NetworkAddress(literal: literal) == nil)
    }
}
