import DevIssuer
import JWKSCache
import JWKSClient
import JWKSTestSupport
import JWKSWire
import Prometheus
import Testing

@testable import JWKSServer

/// Request, hit, kid-miss and stale-serve counters, read back as Prometheus text.
@Suite("Server metrics", .serialized)
struct ServerMetricsTests {
    @Test("lookups by method and status, hits, kid misses and stale serves")
    func counters() async throws {
        let registry = PrometheusCollectorRegistry()
        try await withHarness(
            try await ServerHarness(
                yaml: ServerHarness.yaml(MethodTests.tenants),
                metrics: ServerMetrics(factory: PrometheusMetricsFactory(registry: registry))
            ) { issuer in
                issuer.addIssuer("acme", kinds: [.p256], maxAge: 300)
                issuer.addIssuer("beta", kinds: [.p256], maxAge: 300)
                issuer.serve(path: "/common/discovery/v2.0/keys", body: try! Fixture.bytes("microsoft-jwks.json"))
                issuer.inject(.status(503), at: "/down/jwks")
            }
        ) { harness in
            let client = harness.client
            for _ in 0..<3 { _ = try await client.getKey(tenant: "acme", provider: "idp", kid: "acme-0") }
            await #expect(throws: RPCError.self) {
                _ = try await client.getKey(tenant: "beta", provider: "idp", kid: "not-there")
            }
            await #expect(throws: RPCError.self) { _ = try await client.getKey(tenant: "nobody", kid: "x") }
            _ = try await client.health()

            // beta's keys expire and its refresh fails: they are served stale.
            harness.issuer.inject(.status(503), at: "/beta/jwks")
            let events = harness.engine.events()
            harness.clock.advance(by: .seconds(301))
            for await event in events where event.key.tenant == "beta" {
                if case .failed = event.kind { break }
            }
            let stale = try await client.getKey(tenant: "beta", provider: "idp", kid: "beta-0")
            #expect(stale.stale)
            _ = try await client.getKeySet(tenant: "beta", provider: "idp")

            // A batch's counts reach the registry just after its replies are handed to the socket, one counter
            // after another: wait (bounded) for the last call's request count and for the stale serve it adds
            // last, before reading the rest.
            var text = registry.emitToString()
            for _ in 0..<200
            where PrometheusText.sample(text, #"jwksd_requests_total{method="GetKeySet",status="OK"}"#) != 1
                || PrometheusText.sample(text, "jwksd_stale_serves_total") != 2
            {
                try await Task.sleep(for: .milliseconds(10))
                text = registry.emitToString()
            }
            #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="GetKey",status="OK"}"#) == 4)
            #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="GetKey",status="NOT_FOUND"}"#) == 2)
            #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="GetKeySet",status="OK"}"#) == 1)
            #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="Health",status="OK"}"#) == 1)
            #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="GetKey",status="UNAVAILABLE"}"#) == 0)
            #expect(PrometheusText.sample(text, "jwksd_key_hits_total") == 4)
            #expect(PrometheusText.sample(text, "jwksd_kid_misses_total") == 1)
            #expect(PrometheusText.sample(text, "jwksd_stale_serves_total") == 2)
        }
    }

    @Test("a batch's tally reaches the counters once, mixed methods and statuses included, and then reads zero")
    func tally() {
        let registry = PrometheusCollectorRegistry()
        let metrics = ServerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        var tally = MetricsTally()
        #expect(tally.isEmpty)
        for _ in 0..<3 { tally.answered(.getKey, .ok) }
        tally.answered(.getKey, .notFound)
        tally.answered(.health, .ok)
        tally.answered(.getKey, .ok)
        tally.hit(stale: false)
        tally.hit(stale: true)
        tally.kidMisses += 1
        metrics.record(&tally)
        #expect(tally.isEmpty)
        metrics.record(&tally)
        tally.answered(.health, .ok)
        metrics.record(&tally)
        let text = registry.emitToString()
        #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="GetKey",status="OK"}"#) == 4)
        #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="GetKey",status="NOT_FOUND"}"#) == 1)
        #expect(PrometheusText.sample(text, #"jwksd_requests_total{method="Health",status="OK"}"#) == 2)
        #expect(PrometheusText.sample(text, "jwksd_key_hits_total") == 2)
        #expect(PrometheusText.sample(text, "jwksd_kid_misses_total") == 1)
        #expect(PrometheusText.sample(text, "jwksd_stale_serves_total") == 1)
    }
}
