import CompressNIO
import DevIssuer
import Foundation
import JWKSCache
import JWKSClient
import JWKSConfig
import JWKSTestSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Prometheus
import Testing

@testable import JWKSServer

/// The HTTP JWKS endpoint (`server.http`) against a live engine on a manual clock: documents, validators,
/// gzip, HEAD, freshness, kid misses, outages, access and hostile clients.
@Suite("HTTP JWKS endpoint", .serialized)
struct HTTPEndpointTests {
    static var tenants: String {
        """
        acme:
          providers:
            idp: { jwks_uri: "{{BASE}}/acme/jwks" }
            other: { jwks_uri: "{{BASE}}/other/jwks" }
        mine:
          allowed_uids: [\(getuid())]
          providers:
            idp: { jwks_uri: "{{BASE}}/acme/jwks" }
        theirs:
          allowed_uids: [12345]
          providers:
            idp: { jwks_uri: "{{BASE}}/acme/jwks" }
        partial:
          providers:
            idp: { jwks_uri: "{{BASE}}/other/jwks" }
            down: { jwks_uri: "{{BASE}}/down/jwks" }
        """
    }

    /// A harness with the endpoint on TCP (port 0) and on a Unix socket in the harness's directory.
    final class Endpoint: ScopedHarness {
        let harness: ServerHarness
        let tcp: JWKSHTTPServer
        let unix: JWKSHTTPServer
        let unixPath: String
        var port: Int { tcp.boundPort ?? 0 }

        init(
            metrics: HTTPEndpointMetrics = HTTPEndpointMetrics(), adjust: (inout HTTPEndpointConfig) -> Void = { _ in }
        ) async throws {
            harness = try await ServerHarness(yaml: ServerHarness.yaml(HTTPEndpointTests.tenants)) { issuer in
                issuer.addIssuer("acme", kinds: [.p256, .rsa2048], maxAge: 300)
                issuer.addIssuer("other", kinds: [.ed25519], maxAge: 600)
                issuer.inject(.status(503), at: "/down/jwks")
            }
            unixPath = harness.directory.appendingPathComponent("http.sock").path
            var tcpConfig = HTTPEndpointConfig(listen: .tcp(host: "127.0.0.1", port: 0))
            adjust(&tcpConfig)
            var unixConfig = tcpConfig
            unixConfig.listen = .unix(path: unixPath)
            tcp = JWKSHTTPServer(
                engine: harness.engine, config: tcpConfig, group: MultiThreadedEventLoopGroup.singleton,
                metrics: metrics)
            unix = JWKSHTTPServer(
                engine: harness.engine, config: unixConfig, group: MultiThreadedEventLoopGroup.singleton)
            try await tcp.start()
            try await unix.start()
        }

        func connect() async throws -> RawHTTP { try await RawHTTP.connect(port: port) }

        func shutdown() async {
            await tcp.shutdown()
            await unix.shutdown()
            await harness.shutdown()
        }
    }

    @Test("GET a provider: its usable keys as served, JWK Set media type, strong ETag, max-age bounded by expiry")
    func provider() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let client = try await endpoint.connect()
            let response = try await client.get("/v1/jwks/acme/idp")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/jwk-set+json")
            let keys = endpoint.harness.issuer.keys("acme")
            #expect(response.text == #"{"keys":["# + keys.map(\.json).joined(separator: ",") + "]}")
            let etag = try #require(response.header("ETag"))
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && !etag.hasPrefix("W/"))
            #expect(response.header("Cache-Control") == "max-age=300")
            #expect(response.header("Vary") == "Accept-Encoding")
            // 100 s later the daemon's own expiry is 200 s away: no cache may keep the keys longer.
            endpoint.harness.clock.advance(by: .seconds(100))
            let later = try await client.get("/v1/jwks/acme/idp")
            #expect(later.header("Cache-Control") == "max-age=200")
            #expect(later.header("ETag") == etag)
            await client.close()
        }
    }

    @Test("If-None-Match answers 304 (weak comparison, lists, *); another tag gets the document")
    func conditional() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let client = try await endpoint.connect()
            let etag = try #require(try await client.get("/v1/jwks/acme/idp").header("ETag"))
            for value in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                let response = try await client.get("/v1/jwks/acme/idp", headers: [("If-None-Match", value)])
                #expect(response.status == 304, "\(value)")
                #expect(response.body.isEmpty && response.header("ETag") == etag)
            }
            let other = try await client.get("/v1/jwks/acme/idp", headers: [("If-None-Match", "\"nope\"")])
            #expect(other.status == 200 && !other.body.isEmpty)
            await client.close()
        }
    }

    @Test("gzip is answered with the body compressed at publication; its ETag differs from the plain one")
    func gzip() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let client = try await endpoint.connect()
            let plain = try await client.get("/v1/jwks/acme/idp")
            let zipped = try await client.get("/v1/jwks/acme/idp", headers: [("Accept-Encoding", "br, gzip;q=0.8")])
            #expect(zipped.header("Content-Encoding") == "gzip")
            #expect(Array(zipped.body.prefix(2)) == [0x1F, 0x8B])
            var input = ByteBuffer(bytes: zipped.body)
            let inflated = try input.decompress(with: .gzip)
            #expect(Array(buffer: inflated) == plain.body)
            #expect(zipped.header("ETag") != plain.header("ETag"))
            let refused = try await client.get("/v1/jwks/acme/idp", headers: [("Accept-Encoding", "gzip;q=0")])
            #expect(refused.header("Content-Encoding") == nil && refused.body == plain.body)
            let conditional = try await client.get(
                "/v1/jwks/acme/idp", headers: [("Accept-Encoding", "gzip"), ("If-None-Match", zipped.header("ETag")!)])
            #expect(conditional.status == 304)
            await client.close()
        }
    }

    @Test("HEAD has the GET's headers and no body; pipelined requests are answered in order")
    func headAndPipelining() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let client = try await endpoint.connect()
            try await client.send(
                "HEAD /v1/jwks/acme/idp HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/jwks/acme/idp HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /v1/jwks/acme/other HTTP/1.1\r\nHost: x\r\n\r\n")
            let responses = try await client.responses(3, headOnly: [0])
            #expect(responses[0].status == 200 && responses[0].body.isEmpty)
            #expect(responses[0].header("Content-Length") == "\(responses[1].body.count)")
            #expect(responses[0].header("ETag") == responses[1].header("ETag"))
            #expect(responses[2].kids == endpoint.harness.issuer.keys("other").map(\.kid))
            await client.close()
        }
    }

    @Test("the ETag changes exactly when the set changes")
    func etagFollowsTheSet() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let client = try await endpoint.connect()
            let first = try #require(try await client.get("/v1/jwks/acme/idp").header("ETag"))
            // A refetch of the same document: same tag.
            _ = try await endpoint.harness.client.refresh(tenant: "acme", provider: "idp")
            #expect(try await client.get("/v1/jwks/acme/idp").header("ETag") == first)
            let added = try #require(endpoint.harness.issuer.rotate("acme"))
            _ = try await endpoint.harness.client.refresh(tenant: "acme", provider: "idp")
            let rotated = try await client.get("/v1/jwks/acme/idp")
            #expect(rotated.header("ETag") != first)
            #expect(rotated.kids.first == added.kid)
            // Several publications between two requests of the merged document: it is rebuilt every time (it once
            // compared the addresses of freed sets, and a new set at an old address looked unchanged).
            for _ in 0..<10 {
                for _ in 0..<3 {
                    endpoint.harness.issuer.rotate("acme")
                    _ = try await endpoint.harness.client.refresh(tenant: "acme", provider: "idp")
                }
                let merged = try await client.get("/v1/jwks/acme")
                let idp = try await client.get("/v1/jwks/acme/idp")
                let other = try await client.get("/v1/jwks/acme/other")
                #expect(merged.kids == idp.kids + other.kids)
            }
            await client.close()
        }
    }

    @Test("?kid= of a key the set lacks runs the kid-miss rule: the new key is in that same response")
    func kidMiss() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let client = try await endpoint.connect()
            let added = try #require(endpoint.harness.issuer.rotate("acme"))
            let plain = try await client.get("/v1/jwks/acme/idp")
            #expect(!plain.kids.contains(added.kid), "no refetch without ?kid=")
            let response = try await client.get("/v1/jwks/acme/idp?kid=\(added.kid)&timeout=5000")
            #expect(response.status == 200 && response.kids.contains(added.kid))
            // The tenant's merged document too.
            let second = try #require(endpoint.harness.issuer.rotate("other"))
            let merged = try await client.get("/v1/jwks/acme?kid=\(second.kid)")
            #expect(merged.kids.contains(second.kid))
            // A kid nobody has: answered with the set after the (cooled-down) miss, not an error.
            let absent = try await client.get("/v1/jwks/acme/idp?kid=nobody%20has%20it&timeout=200")
            #expect(absent.status == 200 && !absent.kids.contains("nobody has it"))
            for bad in ["kid=", "kid=%zz", "kid=\(String(repeating: "k", count: 257))", "timeout=-1", "timeout=99999"] {
                let refused = try await client.get("/v1/jwks/acme/idp?\(bad)")
                #expect(refused.status == 400, "\(bad)")
                #expect(refused.json?["error"] as? String == "bad_request")
            }
            await client.close()
        }
    }

    @Test("a provider without keys is 503 with Retry-After; while still loading it says so")
    func unavailable() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let client = try await endpoint.connect()
            let down = try await client.get("/v1/jwks/partial/down")
            #expect(down.status == 503 && down.header("Retry-After") == "5")
            #expect(down.json?["error"] as? String == "unavailable")
            #expect((down.json?["message"] as? String)?.contains("HTTP 503") == true, "\(down.text)")
            // The merged document has what there is, says what is missing, and asks caches to come back soon.
            let partial = try await client.get("/v1/jwks/partial")
            #expect(partial.status == 200 && partial.kids == endpoint.harness.issuer.keys("other").map(\.kid))
            #expect(partial.header("JWKSD-Missing-Providers") == "down")
            #expect(partial.header("Cache-Control") == "max-age=0")

            // A provider a reload adds is loading until its first fetch answers (held 3 s here).
            endpoint.harness.issuer.inject(.delay(.seconds(3)), at: "/slow/jwks", times: 1)
            endpoint.harness.issuer.addIssuer("slow", kinds: [.p256], maxAge: 300)
            let config = try ConfigLoader.load(
                text: ServerHarness.yaml(
                    HTTPEndpointTests.tenants + "\nslow:\n  providers:\n    idp: { jwks_uri: \"{{BASE}}/slow/jwks\" }"
                )
                .replacingOccurrences(of: "{{BASE}}", with: endpoint.harness.issuer.baseURL)
                .replacingOccurrences(of: "{{SOCKET}}", with: endpoint.harness.socketPath),
                baseDirectory: endpoint.harness.directory.path)
            _ = endpoint.harness.engine.apply(config)
            let loading = try await client.get("/v1/jwks/slow/idp")
            #expect(loading.status == 503 && loading.header("Retry-After") == "1")
            #expect(loading.json?["error"] as? String == "loading", "\(loading.text)")
            await client.close()
        }
        let loading = JWKSHTTPResponder.unavailable(
            ProviderSnapshot(key: ProviderKey(tenant: "t", provider: "p"), record: nil, lastError: nil))
        #expect(loading.status == .serviceUnavailable)
        #expect(loading.headers.contains { $0 == ("Retry-After", "1") })
        #expect(String(buffer: loading.body).contains(#""error":"loading""#))
    }

    @Test("during an outage the last good keys are served with JWKSD-Stale and max-age=0")
    func stale() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let client = try await endpoint.connect()
            let fresh = try await client.get("/v1/jwks/acme/idp")
            endpoint.harness.issuer.inject(.status(503), at: "/acme/jwks")
            let events = endpoint.harness.engine.events()
            endpoint.harness.clock.advance(by: .seconds(301))
            for await event in events where event.key == ProviderKey(tenant: "acme", provider: "idp") {
                if case .failed = event.kind { break }
            }
            let stale = try await client.get("/v1/jwks/acme/idp")
            #expect(stale.status == 200 && stale.body == fresh.body)
            #expect(stale.header("JWKSD-Stale") == "true")
            #expect(stale.header("Cache-Control") == "max-age=0")
            let merged = try await client.get("/v1/jwks/acme")
            #expect(merged.header("JWKSD-Stale") == "true")
            await client.close()
        }
    }

    @Test("peer ACLs apply on the unix listener; tenants with ACLs are 404 over TCP")
    func access() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let unix = try await RawHTTP.connect(unixPath: endpoint.unixPath)
            #expect(try await unix.get("/v1/jwks/mine/idp").status == 200)
            #expect(try await unix.get("/v1/jwks/mine").status == 200)
            let refused = try await unix.get("/v1/jwks/theirs/idp")
            let unknown = try await unix.get("/v1/jwks/nobody/idp")
            #expect(refused.status == 404)
            #expect(unknown.status == 404)
            #expect(refused.text.replacingOccurrences(of: "theirs", with: "nobody") == unknown.text)
            await unix.close()
            let tcp = try await endpoint.connect()
            #expect(try await tcp.get("/v1/jwks/mine/idp").status == 404)
            #expect(try await tcp.get("/v1/jwks/theirs").status == 404)
            #expect(try await tcp.get("/v1/jwks/acme/idp").status == 200)
            await tcp.close()
        }
    }

    @Test("bad paths, methods and ids: 404/405 with JSON; the connection keeps serving")
    func badRequests() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let client = try await endpoint.connect()
            for path in [
                "/", "/v1/jwks", "/v1/jwks/", "/v1/jwks/acme/idp/extra", "/v1/jwks/ac%20me", "/v2/jwks/acme",
                "/v1/jwks/acme/nope", "/v1/jwks/\(String(repeating: "a", count: 65))", "/v1/jwks/../etc/passwd",
            ] {
                let response = try await client.get(path)
                #expect(response.status == 404, "\(path)")
                #expect(response.json?["error"] as? String == "not_found", "\(path)")
            }
            // A request the decoder refuses: 400 with Connection: close, and the connection closes at once.
            let garbage = try await endpoint.connect()
            try await garbage.send("GARBAGE\r\n\r\n")
            #expect(try await garbage.responses(1)[0].status == 400)
            #expect(await garbage.isClosed(within: .seconds(2)))
            let post = try await client.get("/v1/jwks/acme", method: "DELETE")
            #expect(post.status == 405 && post.header("Allow") == "GET, HEAD")
            // A request with a body closes the connection after its answer (bodies are never read).
            let other = try await endpoint.connect()
            try await other.send("POST /v1/jwks/acme HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try await other.responses(1)[0].status == 405)
            #expect(await other.isClosed(within: .seconds(5)))
            #expect(try await client.get("/v1/jwks/acme/idp").status == 200)
            await client.close()
        }
    }

    @Test("pipelined requests from a client that does not read: answered in order once it reads")
    func pipelinedWithoutReading() async throws {
        try await withHarness(try await Endpoint()) { endpoint in
            let flooder = try await endpoint.connect()
            try await flooder.setReading(false)
            let count = 1_000
            try await flooder.send(String(repeating: "GET /v1/jwks/acme/idp HTTP/1.1\r\nHost: x\r\n\r\n", count: count))
            try await Task.sleep(for: .milliseconds(300))
            let other = try await endpoint.connect()
            #expect(try await other.get("/v1/jwks/acme/other").status == 200, "others are served meanwhile")
            try await flooder.setReading(true)
            let responses = try await flooder.responses(count, within: .seconds(30))
            #expect(responses.count == count && responses.allSatisfy { $0.status == 200 })
            await flooder.close()
            await other.close()
        }
        try await withHarness(try await Endpoint { $0.idleTimeout = .milliseconds(300) }) { endpoint in
            // It never reads: once the socket's buffers are full nothing moves, and the idle timeout closes it.
            let flooder = try await endpoint.connect()
            try await flooder.setReading(false)
            for _ in 0..<8 {
                try await flooder.send(
                    String(repeating: "GET /v1/jwks/acme/idp HTTP/1.1\r\nHost: x\r\n\r\n", count: 500))
            }
            #expect(await eventually(within: .seconds(10)) { endpoint.tcp.openConnections == 0 })
            await flooder.close()
        }
    }

    @Test("idle_timeout closes a keep-alive connection with nothing to answer, not one whose ?kid= wait runs")
    func idle() async throws {
        try await withHarness(try await Endpoint { $0.idleTimeout = .milliseconds(300) }) { endpoint in
            let idle = try await endpoint.connect()
            #expect(try await idle.get("/v1/jwks/acme/idp").status == 200)
            #expect(await idle.isClosed(within: .seconds(5)))
            // The refetch of a kid miss is held 1 s, longer than the idle timeout: the wait is answered.
            endpoint.harness.issuer.inject(.delay(.seconds(1)), at: "/acme/jwks", times: 1)
            let waiting = try await endpoint.connect()
            let added = try #require(endpoint.harness.issuer.rotate("acme"))
            let answer = try await waiting.get("/v1/jwks/acme/idp?kid=\(added.kid)&timeout=5000")
            #expect(answer.status == 200 && answer.kids.contains(added.kid))
            await waiting.close()
        }
    }

    @Test("more than 1,024 unanswered requests decoded from one client's reads close its connection")
    func unansweredBound() throws {
        let timer = HTTPConnectionTimer(requestTimeout: .seconds(10), idleTimeout: .seconds(60))
        let channel = EmbeddedChannel(handler: HTTPHeadMarker(timer: timer))
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/jwks/acme/idp")
        for _ in 0..<HTTPHeadMarker.closeAt {
            try channel.writeInbound(HTTPServerRequestPart.head(head))
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
        }
        #expect(channel.isActive)
        // Answers bring the count down: 1,024 more fit after they are written.
        for _ in 0..<10 { try channel.writeOutbound(HTTPServerResponsePart.end(nil)) }
        for _ in 0..<10 { try channel.writeInbound(HTTPServerRequestPart.head(head)) }
        #expect(channel.isActive)
        _ = try? channel.writeInbound(HTTPServerRequestPart.head(head))
        #expect(!channel.isActive)
    }

    @Test("?kid= waits of clients that leave count until their lookup returns; past max_connections, no wait")
    func kidWaitsBounded() async throws {
        try await withHarness(try await Endpoint { $0.maxConnections = 3 }) { endpoint in
            // The refetch a kid miss starts is held 3 s: its waiters hold their slots that long.
            endpoint.harness.issuer.inject(.delay(.seconds(3)), at: "/acme/jwks", times: 1)
            for index in 0..<3 {
                let leaver = try await endpoint.connect()
                try await leaver.request("/v1/jwks/acme/idp?kid=new-\(index)&timeout=5000")
                await leaver.close()
            }
            #expect(await eventually { endpoint.tcp.runningKidWaits == 3 && endpoint.tcp.openConnections == 0 })
            let client = try await endpoint.connect()
            let started = ContinuousClock.now
            let answer = try await client.get("/v1/jwks/acme/idp?kid=new-4&timeout=5000")
            #expect(answer.status == 200)
            #expect(ContinuousClock.now - started < .seconds(2), "no slot: answered without waiting")
            #expect(await eventually { endpoint.tcp.runningKidWaits == 0 })
            await client.close()
        }
    }

    @Test("oversized headers, slow heads and too many connections are cut off; the endpoint keeps serving")
    func hostileClients() async throws {
        try await withHarness(
            try await Endpoint { config in
                config.maxConnections = 3
                config.requestTimeout = .milliseconds(300)
                config.maxHeaderBytes = 4_096
            }
        ) { endpoint in
            let huge = try await endpoint.connect()
            try await huge.send(
                "GET /v1/jwks/acme/idp HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 8_192))\r\n\r\n")
            #expect(try await huge.responses(1)[0].status == 400)
            #expect(await huge.isClosed(within: .seconds(5)))

            let slow = try await endpoint.connect()
            try await slow.send("GET /v1/jwks/acme/idp HTTP/1.1\r\nHost: x\r\n")
            try await Task.sleep(for: .milliseconds(100))
            try await slow.send("X-Drip: 1\r\n")
            #expect(await slow.isClosed(within: .seconds(5)), "a head that does not complete in time is closed")

            // A connection that never sends a byte owes its first request within request_timeout too.
            let silent = try await endpoint.connect()
            #expect(await silent.isClosed(within: .seconds(5)))

            var open: [RawHTTP] = []
            // Each sends a request at once (a silent one would be closed after request_timeout and free its slot).
            for _ in 0..<3 {
                let client = try await endpoint.connect()
                try await client.request("/v1/jwks/acme/idp")
                open.append(client)
            }
            for client in open { #expect(try await client.responses(1)[0].status == 200) }
            let extra = try await endpoint.connect()
            #expect(await extra.isClosed(within: .seconds(5)), "past max_connections")
            for client in open { await client.close() }
            #expect(await eventually { endpoint.tcp.openConnections == 0 })
            let after = try await endpoint.connect()
            #expect(try await after.get("/v1/jwks/acme/idp").status == 200)
            await after.close()
        }
    }

    @Test("requests are counted by status, ?kid= waits by outcome, connections past max_connections as refused")
    func metrics() async throws {
        let registry = PrometheusCollectorRegistry()
        try await withHarness(
            try await Endpoint(metrics: HTTPEndpointMetrics(factory: PrometheusMetricsFactory(registry: registry))) {
                config in
                config.maxConnections = 2
            }
        ) { endpoint in
            let client = try await endpoint.connect()
            let document = try await client.get("/v1/jwks/acme/idp")
            #expect(document.status == 200)
            let etag = try #require(document.header("ETag"))
            #expect(try await client.get("/v1/jwks/acme/idp", headers: [("If-None-Match", etag)]).status == 304)
            #expect(try await client.get("/v1/jwks/nobody").status == 404)
            #expect(try await client.get("/v1/jwks/acme/idp", method: "DELETE").status == 405)
            #expect(try await client.get("/v1/jwks/partial/down").status == 503)
            let added = try #require(endpoint.harness.issuer.rotate("acme"))
            #expect(try await client.get("/v1/jwks/acme/idp?kid=\(added.kid)&timeout=5000").kids.contains(added.kid))
            // Within the cooldown the rule has nothing to fetch: answered at once, no wait counted.
            #expect(try await client.get("/v1/jwks/acme/idp?kid=absent").status == 200)

            // A second connection fills max_connections; a third is refused.
            let second = try await endpoint.connect()
            #expect(try await second.get("/v1/jwks/acme/idp").status == 200)
            let third = try await endpoint.connect()
            #expect(await third.isClosed(within: .seconds(5)))
            await second.close()
            try await client.send("NOT HTTP AT ALL\r\n\r\n")
            #expect(try await client.responses(1)[0].status == 400)
            #expect(await client.isClosed(within: .seconds(5)))

            let text = registry.emitToString()
            func sample(_ name: String) -> Double? { PrometheusText.sample(text, name) }
            #expect(sample(#"jwksd_http_requests_total{status="200"}"#) == 4)
            for status in ["304", "400", "404", "405", "503"] {
                #expect(sample(#"jwksd_http_requests_total{status="\#(status)"}"#) == 1, "\(status)")
            }
            #expect(sample(#"jwksd_http_kid_waits_total{outcome="waited"}"#) == 1)
            #expect(sample(#"jwksd_http_kid_waits_total{outcome="over_limit"}"#) == 0)
            #expect(sample("jwksd_http_connections_refused_total") == 1)
        }
    }
}
