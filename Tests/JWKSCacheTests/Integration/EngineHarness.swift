import DevIssuer
import Foundation
import JWKSCache
import JWKSConfig
import JWKSTestSupport
import NIOConcurrencyHelpers

/// A DevIssuer on the loopback, an engine on a manual clock pointed at it, and an event recorder.
final class EngineHarness: ScopedHarness {
    let issuer: DevIssuer
    let clock = ManualClock()
    let engine: JWKSEngine
    let transport: AsyncHTTPClientTransport
    let recorder: EventRecorder
    private let loop: Task<Void, Never>

    /// Starts everything. `{{BASE}}` in the YAML becomes the issuer's base URL.
    init(
        yaml: String, seed: UInt64 = 7, tls: DevCertificates? = nil, metrics: EngineMetrics = EngineMetrics(),
        prepare: (DevIssuer) -> Void
    ) async throws {
        issuer = try await DevIssuer.start(tls: tls)
        prepare(issuer)
        let text = yaml.replacingOccurrences(of: "{{BASE}}", with: issuer.baseURL)
        let config = try ConfigLoader.load(text: text, baseDirectory: NSTemporaryDirectory())
        transport = AsyncHTTPClientTransport(connectTimeout: config.defaults.retry.connectTimeout)
        let counter = SeedCounter(seed: seed)
        engine = JWKSEngine(
            config: config, clock: clock, transport: transport,
            makeGenerator: { SeededGenerator(seed: counter.next()) }, metrics: metrics)
        recorder = EventRecorder(engine.events())
        let engine = self.engine
        loop = Task { await engine.run() }
        engine.start()
    }

    func shutdown() async {
        loop.cancel()
        try? await transport.shutdown()
        try? await issuer.shutdown()
    }

    /// A deadline far in the manual clock's future (waits end by fetch completion, never by time).
    var farDeadline: ManualClock.Instant { clock.now.advanced(by: .seconds(86_400 * 365)) }

    /// Full downloads and 304s served on `path`.
    func downloads(_ path: String) -> (full: Int, notModified: Int) {
        let requests = issuer.requests(to: path)
        return (requests.filter { $0.status == 200 }.count, requests.filter { $0.status == 304 }.count)
    }
}

/// Hands out distinct seeds.
final class SeedCounter: Sendable {
    private let value: NIOLockedValueBox<UInt64>
    init(seed: UInt64) { value = NIOLockedValueBox(seed) }
    func next() -> UInt64 {
        value.withLockedValue {
            $0 += 1; return $0
        }
    }
}
