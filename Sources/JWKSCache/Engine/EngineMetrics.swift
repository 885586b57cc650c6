public import CoreMetrics
import JWKS
import NIOConcurrencyHelpers

/// The engine's metrics, through swift-metrics (the daemon exports them as Prometheus text):
///
/// - `jwksd_refreshes_total{outcome}`: fetch outcomes, `outcome` is `200` (a document was published), `304`
///   (revalidated; an unchanged file counts here too) or `error`;
/// - `jwksd_fetch_duration_seconds`: a histogram of how long fetches took (request to whole response);
/// - `jwksd_provider_keys{tenant,provider}`: usable keys served per provider;
/// - `jwksd_provider_expiry_seconds{tenant,provider}`: seconds until the provider's keys stop being fresh
///   (negative while they are served stale);
/// - `jwksd_provider_stale_limit_seconds{tenant,provider}`: seconds until stale keys are dropped.
///
/// Counters are recorded as events happen (``record(_:)``); the per-provider gauges are brought up to date by
/// ``observe(_:)``, which the exporter calls before each scrape, so they are exact at scrape time and cost
/// nothing in between. Removed providers' gauges are destroyed.
public final class EngineMetrics: Sendable {
    private struct ProviderGauges {
        var keys: Gauge
        var expiry: Gauge
        var staleLimit: Gauge
    }

    private let factory: any MetricsFactory
    private let published: Counter
    private let notModified: Counter
    private let failed: Counter
    private let fetchDuration: Timer
    private let gauges = NIOLockedValueBox<[ProviderKey: ProviderGauges]>([:])

    /// Creates the metrics with a factory (the daemon passes its Prometheus factory; the default records nothing).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        published = Counter(label: "jwksd_refreshes_total", dimensions: [("outcome", "200")], factory: factory)
        notModified = Counter(label: "jwksd_refreshes_total", dimensions: [("outcome", "304")], factory: factory)
        failed = Counter(label: "jwksd_refreshes_total", dimensions: [("outcome", "error")], factory: factory)
        fetchDuration = Timer(label: "jwksd_fetch_duration_seconds", dimensions: [], factory: factory)
    }

    /// Counts one engine event.
    public func record(_ event: EngineEvent) {
        switch event.kind {
        case .published: published.increment()
        case .notModified: notModified.increment()
        case .failed: failed.increment()
        case .fetchStarted, .removed: return
        }
        if let duration = event.duration { fetchDuration.recordNanoseconds(Self.nanoseconds(duration)) }
    }

    /// Sets every provider's gauges from its published snapshot and destroys the gauges of providers that
    /// are gone.
    public func observe(_ engine: JWKSEngine) {
        let now = engine.clock.now
        let entries = engine.allEntries
        gauges.withLockedValue { gauges in
            var seen = Set<ProviderKey>()
            for entry in entries {
                seen.insert(entry.key)
                let record = entry.snapshot.record
                let providerGauges = gauges[entry.key] ?? makeGauges(entry.key)
                gauges[entry.key] = providerGauges
                providerGauges.keys.record(record?.keySet.keys.count ?? 0)
                providerGauges.expiry.record(record.map { Self.seconds(now.duration(to: $0.expiresAt)) } ?? 0)
                providerGauges.staleLimit.record(record.map { Self.seconds(now.duration(to: $0.staleUntil)) } ?? 0)
            }
            for (key, removed) in gauges where !seen.contains(key) {
                removed.keys.destroy()
                removed.expiry.destroy()
                removed.staleLimit.destroy()
                gauges[key] = nil
            }
        }
    }

    private func makeGauges(_ key: ProviderKey) -> ProviderGauges {
        let dimensions = [("tenant", key.tenant), ("provider", key.provider)]
        return ProviderGauges(
            keys: Gauge(label: "jwksd_provider_keys", dimensions: dimensions, factory: factory),
            expiry: Gauge(label: "jwksd_provider_expiry_seconds", dimensions: dimensions, factory: factory),
            staleLimit: Gauge(label: "jwksd_provider_stale_limit_seconds", dimensions: dimensions, factory: factory))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
