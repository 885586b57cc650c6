public import CoreMetrics
import JWKSCache
import JWS
import NIOConcurrencyHelpers

/// VerifyJWT's metrics, through swift-metrics:
///
/// - `jwksd_verifications_total{tenant,provider,result}`: tokens answered, `result` being `ok` or a refusal
///   reason (`bad_signature`, `expired`, …); `provider` is empty for a token refused before a provider was
///   chosen (no provider has its `iss`, or it is not a JWS). Counted only for tenants the caller may read, so
///   the labels come from the configuration, never from what a peer sends: at most 13 series per provider.
/// - `jwksd_verify_cache_hits_total`: tokens answered from the verified-token cache (also counted `ok` above).
///
/// Counters are created the first time a provider answers, then held (a provider removed by a reload keeps
/// its counts, like any counter).
public final class VerificationMetrics: Sendable {
    /// One provider's counters, indexed by result: `ok`, then ``JWSFailure/Reason/allCases`` in order.
    final class ProviderCounters: Sendable {
        private let counters: [Counter]

        init(tenant: String, provider: String, factory: any MetricsFactory) {
            counters = VerificationMetrics.results.map { result in
                Counter(
                    label: "jwksd_verifications_total",
                    dimensions: [("tenant", tenant), ("provider", provider), ("result", result)], factory: factory)
            }
        }

        /// Counts a verified token.
        func verified() { counters[0].increment() }

        /// Counts a refused token.
        func refused(_ reason: JWSFailure.Reason) {
            guard let index = JWSFailure.Reason.allCases.firstIndex(of: reason) else { return }
            counters[1 + index].increment()
        }
    }

    /// The `result` label values.
    static let results = ["ok"] + JWSFailure.Reason.allCases.map(\.rawValue)

    private let factory: any MetricsFactory
    private let providers = NIOLockedValueBox<[ProviderKey: ProviderCounters]>([:])
    let cacheHits: Counter

    /// Creates the metrics with a factory (the default records nothing).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        cacheHits = Counter(label: "jwksd_verify_cache_hits_total", dimensions: [], factory: factory)
    }

    /// The counters of a provider (`provider` empty: refusals before one was chosen).
    func counters(tenant: String, provider: String) -> ProviderCounters {
        let key = ProviderKey(tenant: tenant, provider: provider)
        return providers.withLockedValue { providers in
            if let counters = providers[key] { return counters }
            let counters = ProviderCounters(tenant: tenant, provider: provider, factory: factory)
            providers[key] = counters
            return counters
        }
    }
}
