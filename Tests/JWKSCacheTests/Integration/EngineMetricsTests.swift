import DevIssuer
import Foundation
import JWKSCache
import JWKSConfig
import JWKSTestSupport
import Prometheus
import Testing

/// The engine's metrics as Prometheus text: refresh outcomes, fetch durations, per-provider gauges.
@Suite("Engine metrics", .serialized)
struct EngineMetricsTests {
    @Test("200, 304 and error outcomes are counted; gauges follow keys, expiry and removal")
    func refreshOutcomes() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = EngineMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let yaml = RefreshIntegrationTests.yaml(
            "idp: { jwks_uri: \"{{BASE}}/acme/jwks\" }\nother: { jwks_uri: \"{{BASE}}/beta/jwks\" }")
        try await withHarness(
            try await EngineHarness(yaml: yaml, metrics: metrics) {
                $0.addIssuer("acme", kinds: [.p256, .ed25519], maxAge: 300)
                $0.addIssuer("beta", kinds: [.rsa2048], maxAge: 300)
            }
        ) { harness in
            _ = await harness.recorder.first(from: 0) { $0.isPublished && $0.key.provider == "idp" }
            _ = await harness.recorder.first(from: 0) { $0.isPublished && $0.key.provider == "other" }

            var mark = harness.recorder.count
            harness.clock.advance(by: .seconds(271))
            _ = await harness.recorder.first(from: mark) { $0.isNotModified && $0.key.provider == "idp" }
            _ = await harness.recorder.first(from: mark) { $0.isNotModified && $0.key.provider == "other" }

            harness.issuer.inject(.status(503), at: "/acme/jwks")
            mark = harness.recorder.count
            // Both expire at 571 s; at 581 s both refresh: idp fails (its keys are now served stale), other gets a 304.
            harness.clock.advance(by: .seconds(310))
            _ = await harness.recorder.first(from: mark) { $0.failure != nil && $0.key.provider == "idp" }
            _ = await harness.recorder.first(from: mark) { $0.isNotModified && $0.key.provider == "other" }

            metrics.observe(harness.engine)
            var text = registry.emitToString()
            #expect(PrometheusText.sample(text, #"jwksd_refreshes_total{outcome="200"}"#) == 2)
            #expect(PrometheusText.sample(text, #"jwksd_refreshes_total{outcome="304"}"#) == 3)
            #expect(PrometheusText.sample(text, #"jwksd_refreshes_total{outcome="error"}"#) == 1)
            #expect(PrometheusText.sample(text, "jwksd_fetch_duration_seconds_count") == 6)
            #expect(PrometheusText.sample(text, #"jwksd_provider_keys{tenant="acme",provider="idp"}"#) == 2)
            #expect(PrometheusText.sample(text, #"jwksd_provider_keys{tenant="acme",provider="other"}"#) == 1)
            // idp failed after its keys expired: they are served stale, so expiry is in the past.
            let expiry = try #require(
                PrometheusText.sample(text, #"jwksd_provider_expiry_seconds{tenant="acme",provider="idp"}"#))
            #expect(expiry < 0)
            let staleLimit = try #require(
                PrometheusText.sample(text, #"jwksd_provider_stale_limit_seconds{tenant="acme",provider="idp"}"#))
            #expect(staleLimit > 0)
            let otherExpiry = try #require(
                PrometheusText.sample(text, #"jwksd_provider_expiry_seconds{tenant="acme",provider="other"}"#))
            #expect(otherExpiry > 0 && otherExpiry <= 300)

            let smaller = try ConfigLoader.load(
                text: RefreshIntegrationTests.yaml("idp: { jwks_uri: \"\(harness.issuer.jwksURL("acme"))\" }"),
                baseDirectory: NSTemporaryDirectory())
            harness.engine.apply(smaller)
            metrics.observe(harness.engine)
            text = registry.emitToString()
            #expect(PrometheusText.sample(text, #"jwksd_provider_keys{tenant="acme",provider="other"}"#) == nil)
            #expect(PrometheusText.sample(text, #"jwksd_provider_keys{tenant="acme",provider="idp"}"#) == 2)
        }
    }
}
